/// The candidate parameter sets of the tuner: a small grid of tile sizes, thread layouts and
/// vector widths, each a complete set (CLBlast wants every name of the kernel) built on
/// CLBlast's current values, kept only where CLBlast's divisibility rules and the device's
/// work-group and local-memory limits allow it.
enum GEMMParameterGrid {
    static func candidates(kernel: String, defaults: [String: Int], info: OpenCLDeviceInfo) -> [[String: Int]] {
        var list: [[String: Int]] = []
        switch kernel {
        case "Xgemm":
            // Quick mode takes the first three: a mid, a small and a large tile.
            let tiles = [(64, 64), (32, 32), (128, 128), (64, 128), (128, 64)]
            for vw in [2, 4, 1] {
                for dims in [16, 8] {
                    for kwg in [32, 16] {
                        for (mwg, nwg) in tiles {
                            var p = defaults
                            p["GEMMK"] = 0; p["KREG"] = 1
                            p["MWG"] = mwg; p["NWG"] = nwg; p["KWG"] = kwg; p["KWI"] = 2
                            p["MDIMC"] = dims; p["NDIMC"] = dims; p["MDIMA"] = dims; p["NDIMB"] = dims
                            p["VWM"] = vw; p["VWN"] = vw; p["SA"] = 1; p["SB"] = 1
                            p["STRM"] = p["STRM"] ?? 0; p["STRN"] = p["STRN"] ?? 0
                            if xgemmValid(p, info) { list.append(p) }
                        }
                    }
                }
            }
        case "XgemmDirect":
            for vw in [2, 4, 1] {
                for dims in [8, 16] {
                    for wgd in [32, 16, 64, 8] {
                        var p = defaults
                        p["WGD"] = wgd; p["MDIMCD"] = dims; p["NDIMCD"] = dims; p["MDIMAD"] = dims; p["NDIMBD"] = dims
                        p["KWID"] = 2; p["VWMD"] = vw; p["VWND"] = vw; p["PADA"] = 1; p["PADB"] = 1
                        if directValid(p, info) { list.append(p) }
                    }
                }
            }
        default:
            break
        }
        // Drop CLBlast's own set (it is the baseline) and duplicates, keeping the order.
        var seen = Set<String>([describeParameters(defaults)])
        return list.filter { seen.insert(describeParameters($0)).inserted }
    }

    /// CLBlast's constraints for Xgemm with GEMMK = 0 (src/tuning/kernels/xgemm.cpp).
    static func xgemmValid(_ p: [String: Int], _ info: OpenCLDeviceInfo) -> Bool {
        func v(_ k: String) -> Int { p[k] ?? 0 }
        let mwg = v("MWG"), nwg = v("NWG"), kwg = v("KWG"), mdimc = v("MDIMC"), ndimc = v("NDIMC")
        let mdima = v("MDIMA"), ndimb = v("NDIMB"), vwm = v("VWM"), vwn = v("VWN"), kwi = v("KWI")
        guard [mwg, nwg, kwg, mdimc, ndimc, mdima, ndimb, vwm, vwn, kwi].allSatisfy({ $0 > 0 }) else { return false }
        guard mwg % (mdimc * vwm) == 0, nwg % (ndimc * vwn) == 0, mwg % (mdima * vwm) == 0, nwg % (ndimb * vwn) == 0,
              kwg % kwi == 0, (mdimc * ndimc) % mdima == 0, (mdimc * ndimc) % ndimb == 0,
              kwg % ((mdimc * ndimc) / mdima) == 0, kwg % ((mdimc * ndimc) / ndimb) == 0 else { return false }
        let local = 4 * (v("SA") * kwg * mwg + v("SB") * kwg * nwg)
        return mdimc * ndimc <= max(info.maxWorkGroupSize, 1) && local <= max(info.localMemoryBytes, 0)
    }

    /// CLBlast's constraints for XgemmDirect (src/tuning/kernels/xgemm_direct.hpp).
    static func directValid(_ p: [String: Int], _ info: OpenCLDeviceInfo) -> Bool {
        func v(_ k: String) -> Int { p[k] ?? 0 }
        let wgd = v("WGD"), mdimcd = v("MDIMCD"), ndimcd = v("NDIMCD"), mdimad = v("MDIMAD"), ndimbd = v("NDIMBD")
        let vwmd = v("VWMD"), vwnd = v("VWND"), kwid = v("KWID")
        guard [wgd, mdimcd, ndimcd, mdimad, ndimbd, vwmd, vwnd, kwid].allSatisfy({ $0 > 0 }) else { return false }
        guard wgd % (mdimcd * vwmd) == 0, wgd % (ndimcd * vwnd) == 0, wgd % (mdimad * vwmd) == 0, wgd % (ndimbd * vwnd) == 0,
              wgd % kwid == 0, (mdimcd * ndimcd) % mdimad == 0, (mdimcd * ndimcd) % ndimbd == 0,
              wgd % ((mdimcd * ndimcd) / mdimad) == 0, wgd % ((mdimcd * ndimcd) / ndimbd) == 0 else { return false }
        let local = 4 * (wgd * (wgd + v("PADA")) + wgd * (wgd + v("PADB")))
        return mdimcd * ndimcd <= max(info.maxWorkGroupSize, 1) && local <= max(info.localMemoryBytes, 0)
    }

    /// The entries of `p` that differ from `base` (for the log).
    static func varied(_ p: [String: Int], from base: [String: Int]) -> [String: Int] {
        p.filter { base[$0.key] != $0.value }
    }
}
