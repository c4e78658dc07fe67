import Foundation

/// Everything one report shows: a pretraining run (its log and newest checkpoint), the
/// evaluations of its encoder, and optionally a t-SNE map of test representations.
public struct RunReport: Sendable {
    public var runDirectory: String
    public var log: RunLog
    public var checkpoint: CheckpointMetadata?
    public var evaluations: [EvaluationResult]
    public var representations: RepresentationMap?
    /// Names of classes 0 ..< classCount (see `ClassNames`).
    public var classNames: [String]

    /// Reads the run folder and every evaluation folder; class names start as `ClassNames`' defaults.
    public static func load(runDirectory: String, evaluationDirectories: [String]) throws -> RunReport {
        let log = try RunLog.read(runDirectory: runDirectory)
        let checkpoint = try CheckpointMetadata.newest(in: runDirectory)
        let evaluations = try evaluationDirectories.flatMap { try EvaluationResult.read(directory: $0) }
        var report = RunReport(runDirectory: runDirectory, log: log, checkpoint: checkpoint, evaluations: evaluations,
                               representations: nil, classNames: [])
        report.classNames = try ClassNames.resolve(count: report.classCount)
        return report
    }

    /// The most classes any part of the report needs names for.
    public var classCount: Int {
        max(evaluations.map(\.report.classes).max() ?? 0, (representations?.labels.max() ?? -1) + 1)
    }

    public func write(to path: String) throws {
        do { try Data(html().utf8).write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw ReportError(file: path, detail: "cannot write the report: \(error.localizedDescription)")
        }
    }

    /// The self-contained page: inline CSS and SVG, no scripts, nothing fetched.
    public func html() -> String {
        let e = SVGCanvas.escape
        var body: [String] = []
        let name = URL(fileURLWithPath: runDirectory).lastPathComponent
        body.append("<h1>AimCLR run report: \(e(name))</h1>")
        body.append("<p class=\"meta\">\(e(runDirectory)) · report by aimclr \(e(AimCLRVersion.current)) · "
                    + "\(e(ISO8601DateFormatter().string(from: Date())))</p>")
        body.append(provenanceSection())
        body.append(pretrainingSection())
        if let map = representations { body.append(representationSection(map)) }
        for result in evaluations { body.append(evaluationSection(result)) }
        body.append(configurationSection())
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>AimCLR run report: \(e(name))</title>
        <style>\(Self.style)</style></head>
        <body>
        \(body.joined(separator: "\n"))
        </body></html>

        """
    }

    static let style = """
    body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1180px;color:#222;background:#fff}\
    h1{font-size:22px;margin-bottom:4px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:32px}\
    .meta{color:#666;font-size:12px}table{border-collapse:collapse;font-size:12px;margin:8px 0}\
    td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}\
    figure{margin:12px 0}.row{display:flex;flex-wrap:wrap;gap:0 20px;align-items:flex-start}.row figure{margin:8px 0}figure svg{max-width:100%;height:auto}.note{color:#555;font-size:12px}\
    code{font-size:11px;word-break:break-all}.facts{max-width:560px}.facts td{word-break:break-all}
    """

    static func table(_ rows: [(String, String)], header: (String, String)? = nil) -> String {
        let e = SVGCanvas.escape
        var s = "<table>"
        if let h = header { s += "<tr><th>\(e(h.0))</th><th>\(e(h.1))</th></tr>" }
        for (k, v) in rows { s += "<tr><th>\(e(k))</th><td>\(e(v))</td></tr>" }
        return s + "</table>"
    }

    static func figure(_ svg: String) -> String { "<figure>\(svg)</figure>" }

    static func percent(_ x: Double) -> String { String(format: "%.2f%%", x * 100) }

    func provenanceSection() -> String {
        let e = SVGCanvas.escape
        var s = "<h2>Run and provenance</h2><div class=\"row\">"
        for (i, h) in log.headers.enumerated() {
            var rows: [(String, String)] = [("started", h.started), ("aimclr version", h.version), ("device", h.device),
                                            ("command", h.command.joined(separator: " "))]
            if let r = h.resumedFrom { rows.append(("resumed from", r)) }
            for key in h.other.keys.sorted() { rows.append((key, h.other[key]!.text)) }
            s += "<div><h3>\(i == 0 ? "Start" : "Resume \(i)")</h3>" + Self.table(rows) + "</div>"
        }
        var logRows: [(String, String)] = [("log", log.path), ("epoch records", "\(log.epochs.count)"),
                                           ("iteration records", "\(log.iterationRecords)")]
        if !log.tornLines.isEmpty {
            logRows.append(("torn lines skipped", log.tornLines.map(String.init).joined(separator: ", ") + " (a kill mid-write)"))
        }
        s += "<div><h3>Log</h3>" + Self.table(logRows) + "</div>"
        if let c = checkpoint {
            var rows: [(String, String)] = [("file", c.path), ("size", String(format: "%.1f MB", Double(c.bytes) / 1e6))]
            if let m = c.modified { rows.append(("written", ISO8601DateFormatter().string(from: m))) }
            for key in ["format", "epoch", "iteration", "partial_iterations", "checksum_fnv1a64"] {
                if let v = c.metadata[key] { rows.append((key, v)) }
            }
            rows.append(("checkpoints in the folder", c.allCheckpoints.joined(separator: ", ")))
            s += "<div><h3>Newest checkpoint</h3>" + Self.table(rows) + "</div>"
        } else {
            s += "<p class=\"note\">No checkpoint in \(e(runDirectory)).</p>"
        }
        return s + "</div>"
    }

    func pretrainingSection() -> String {
        var s = "<h2>Pretraining</h2>"
        let epochs = log.epochs
        guard !epochs.isEmpty else { return s + "<p class=\"note\">The log holds no finished epoch yet.</p>" }
        let mining = log.miningEpoch ?? Int.max
        func points(_ f: (RunLog.Epoch) -> Double, where keep: (RunLog.Epoch) -> Bool = { _ in true }) -> [(x: Double, y: Double)] {
            epochs.filter(keep).map { (Double($0.epoch), f($0)) }
        }
        var series: [LineChart.Series] = []
        let info = points(\.contrastive) { $0.epoch <= mining }, nnm = points(\.contrastive) { $0.epoch > mining }
        if !info.isEmpty { series.append(.init(name: "InfoNCE (info)", points: info, color: Palette.category(0))) }
        if !nnm.isEmpty { series.append(.init(name: "NNM (nnm)", points: nnm, color: Palette.category(1))) }
        if epochs.contains(where: { $0.d3mExtreme != 0 || $0.d3mDropped != 0 }) {
            series.append(.init(name: "D3M extreme", points: points(\.d3mExtreme), color: Palette.category(2)))
            series.append(.init(name: "D3M dropped", points: points(\.d3mDropped), color: Palette.category(4)))
        }
        series.append(.init(name: "total", points: points(\.loss), color: "#222"))
        var references: [LineChart.Reference] = []
        if let k = log.queueSize, k > 0 {
            let chance = Foundation.log(Double(k) + 1)
            references.append(.init(value: chance, label: String(format: "chance ln(K+1) = %.2f, K = %d", chance, k), color: "#d62728"))
        }
        s += Self.figure(LineChart(title: "Pretraining loss per term", xLabel: "epoch", yLabel: "mean loss",
                                   series: series, references: references, integerX: true).svg)
        if mining < Int.max {
            s += "<p class=\"note\">Epochs up to the mining epoch (\(mining)) train with InfoNCE, later ones with NNM; "
                + "the dashed line is the contrastive loss of an encoder that tells no sample from the K queued negatives.</p>"
        }
        // Two small charts side by side.
        s += "<div class=\"row\">"
        s += Self.figure(LineChart(title: "Learning rate", xLabel: "epoch", yLabel: "lr",
                                   series: [.init(name: "lr", points: points(\.lr), color: Palette.category(0))],
                                   width: 470, height: 250, includeZero: true, integerX: true).svg)
        s += Self.figure(LineChart(title: "Throughput", xLabel: "epoch", yLabel: "iterations / s",
                                   series: [.init(name: "iterations/s", points: points(\.throughput), color: Palette.category(2))],
                                   width: 470, height: 250, includeZero: true, integerX: true).svg)
        s += "</div>"
        return s
    }

    func evaluationSection(_ r: EvaluationResult) -> String {
        let e = SVGCanvas.escape
        let m = r.summary
        let p = m.protocolName
        var s = "<h2>Evaluation: \(e(p))</h2>"
        var rows: [(String, String)] = [("result", r.source), ("top-1", Self.percent(r.report.top1)), ("top-5", Self.percent(r.report.top5)),
                                        ("test samples", "\(r.report.samples)"), ("classes", "\(r.report.classes)"),
                                        ("checkpoint", m.checkpoint ?? "-"), ("encoder", m.encoder ?? "-"),
                                        ("data", "\(m.dataset) (\(m.trainSplit.map { "\($0) / " } ?? "")\(m.testSplit))"),
                                        ("stream", m.stream ?? "-"), ("device", m.device), ("date", m.date)]
        if let sel = m.selection { rows.append(("headline", sel)) }
        if let b = m.best { rows.append(("best", "epoch \(b.epoch): top-1 \(Self.percent(b.top1))")) }
        if let l = m.last { rows.append(("last", "epoch \(l.epoch): top-1 \(Self.percent(l.top1))")) }
        rows.append(("figures from", r.figuresFrom))
        if !m.hyperParameters.isEmpty {
            rows.append(("settings", m.hyperParameters.keys.sorted().map { "\($0) \(m.hyperParameters[$0]!)" }.joined(separator: "; ")))
        }
        s += "<div class=\"row\"><div class=\"facts\">" + Self.table(rows) + "</div>"
        if let history = m.history, !history.isEmpty {
            let top1 = history.map { (x: Double($0.epoch), y: $0.top1 * 100) }, top5 = history.map { (x: Double($0.epoch), y: $0.top5 * 100) }
            let chance = 100 / Double(max(r.report.classes, 1))
            s += Self.figure(LineChart(title: "\(p) accuracy per evaluated epoch", xLabel: "epoch", yLabel: "accuracy (%)",
                                       series: [.init(name: "top-1", points: top1, color: Palette.category(0)),
                                                .init(name: "top-5", points: top5, color: Palette.category(1))],
                                       references: [.init(value: chance, label: String(format: "chance %.1f%%", chance), color: "#d62728")],
                                       width: 560, height: 280, includeZero: true, integerX: true).svg)
        }
        s += "</div>"
        let names = (0..<r.report.classes).map { $0 < classNames.count ? classNames[$0] : "class \($0)" }
        s += "<div class=\"row\">"
        s += Self.figure(ConfusionHeatMap(title: "\(p) confusion matrix", classNames: names, counts: r.report.confusion).svg)
        let chance = 1 / Double(max(r.report.classes, 1))
        s += Self.figure(BarChart(title: "\(p) per-class accuracy", names: names, values: r.report.perClass,
                                  reference: (chance, String(format: "chance %.1f%%", chance * 100)), width: 440).svg)
        return s + "</div>"
    }

    func representationSection(_ map: RepresentationMap) -> String {
        var s = "<h2>Test representations</h2>"
        let shown = map.labels.count
        s += Self.figure(ScatterPlot(title: "t-SNE of test representations", coordinates: map.coordinates, labels: map.labels,
                                     classNames: classNames).svg)
        s += "<p class=\"note\">\(shown) of \(map.total) samples (\(map.dimension)-d, L2-normalised), \(SVGCanvas.escape(map.method)) t-SNE, "
            + String(format: "perplexity %.0f, seed %llu. ", map.perplexity, map.seed)
            + String(format: "Share of the %d nearest neighbours with the same class: %.1f%% in the map, %.1f%% among the representations.",
                     RepresentationMap.agreementNeighbours, map.agreementInPlane * 100, map.agreementInRepresentation * 100)
            + "</p>"
        return s
    }

    func configurationSection() -> String {
        let config = log.config
        guard !config.isEmpty else { return "<h2>Configuration</h2><p class=\"note\">The header records no configuration.</p>" }
        return "<h2>Configuration</h2>" + Self.table(config.keys.sorted().map { ($0, config[$0]!.text) }, header: ("key", "value"))
    }
}
