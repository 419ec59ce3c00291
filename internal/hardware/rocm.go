package hardware

import "strings"

// rocmName picks the marketing name from rocm-smi's product fields. Versions
// differ: "Card Series" may hold "Navi 31 [Radeon RX 7900 XT/7900 XTX]",
// "AMD Instinct MI300X" or only the PCI device id ("0x744c"); "Card Model"
// may hold a name or an id; newer versions add "Device Name".
func rocmName(c map[string]any) string {
	var ids []string
	for _, k := range []string{"Card Series", "Card series", "Card Model", "Card model", "Device Name", "Device ID"} {
		s, _ := c[k].(string)
		s = strings.TrimSpace(s)
		switch {
		case s == "" || s == "N/A":
		case strings.HasPrefix(strings.ToLower(s), "0x"):
			ids = append(ids, strings.ToLower(s))
		default:
			return s
		}
	}
	for _, id := range ids {
		if n, ok := amdDeviceIDs[id]; ok {
			return n
		}
	}
	if len(ids) > 0 {
		return "AMD GPU " + ids[0]
	}
	return ""
}

// amdDeviceIDs are PCI device ids (pci.ids, vendor 1002) that rocm-smi prints
// in place of a name, for the cards in gpus.tsv. One id can cover several
// cards (Navi 31 is both the RX 7900 XT and XTX); the memory tells them apart.
var amdDeviceIDs = map[string]string{
	"0x744c": "Navi 31 [Radeon RX 7900 XT/7900 XTX]",
	"0x7448": "Navi 31 [Radeon Pro W7900]",
	"0x73bf": "Navi 21 [Radeon RX 6800/6800 XT / 6900 XT]",
	"0x73a5": "Navi 21 [Radeon RX 6950 XT]",
	"0x73df": "Navi 22 [Radeon RX 6700/6700 XT/6750 XT]",
	"0x747e": "Navi 32 [Radeon RX 7700 XT / 7800 XT]",
	"0x7480": "Navi 33 [Radeon RX 7600/7600 XT]",
	"0x738c": "Arcturus GL-XL [Instinct MI100]",
	"0x740f": "Aldebaran [Instinct MI210]",
	"0x740c": "Aldebaran/MI200 [Instinct MI250X/MI250]",
	"0x74a1": "Aqua Vanjaram [Instinct MI300X]",
}
