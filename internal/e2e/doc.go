// Package e2e holds end-to-end tests of the whole product as a user meets it:
// the real `fitbench` binary (built once in TestMain) serving the web app,
// tools/localhub standing in for the Hugging Face Hub, a real Ollama process as
// the engine, and real headless Chromium clicking through the pages.
//
// Nothing here is a stand-in: the analysis reads real GGUF headers over HTTP
// ranges, the download is verified by sha256, the registry is a SQLite file, and
// the measured speed comes from the engine answering prompts. Tests need the
// browser (FITBENCH_REQUIRE_BROWSER=1 makes a missing one a failure) and the
// engine (FITBENCH_REQUIRE_ENGINE=1 likewise); otherwise they skip with a note.
package e2e
