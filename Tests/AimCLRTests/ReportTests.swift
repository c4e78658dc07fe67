import Foundation
import Skeleton
import TestSupport
import XCTest
@testable import AimCLR

/// The HTML report: its figures, the values behind them, and its refusals of bad input.
final class ReportTests: XCTestCase {
    func testReportHoldsEveryFigureAndNothingExternal() throws {
        let fixture = try ReportFixture()
        let report = try fixture.report()
        let html = report.html()
        for title in ["Pretraining loss per term", "Learning rate", "Throughput", "linear accuracy per evaluated epoch",
                      "linear confusion matrix", "linear per-class accuracy", "t-SNE of test representations"] {
            XCTAssertTrue(html.contains("<svg width="), title)
            XCTAssertTrue(html.contains("aria-label=\"\(title)\""), "figure '\(title)' missing")
        }
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, 7)
        // The chance level ln(257) = 5.549, drawn dashed.
        XCTAssertTrue(html.contains("chance ln(K+1) = 5.55, K = 256"))
        XCTAssertTrue(html.contains("stroke-dasharray=\"6 4\""))
        for name in ReportFixture.classNames { XCTAssertTrue(html.contains(">\(name)<"), name) }
        for term in ["InfoNCE (info)", "NNM (nnm)", "D3M extreme", "D3M dropped", "total"] { XCTAssertTrue(html.contains(">\(term)<"), term) }
        // Provenance: the header's command and the checkpoint's header.
        XCTAssertTrue(html.contains("aimclr pretrain --config demo.yaml"))
        XCTAssertTrue(html.contains("epoch8_model.safetensors"))
        XCTAssertTrue(html.contains("<th>queueSize</th><td>256</td>"))
        // Self-contained: nothing fetched, nothing scripted.
        for banned in ["http://", "https://", "<script", "src=", "<link", "url(", "@import"] {
            XCTAssertFalse(html.lowercased().contains(banned), banned)
        }
        XCTAssertTrue(html.hasPrefix("<!DOCTYPE html>"))
        XCTAssertTrue(html.hasSuffix("</body></html>\n"))
    }

    func testFiguresCarryTheLogAndEvaluationValues() throws {
        let fixture = try ReportFixture()
        let report = try fixture.report()
        XCTAssertEqual(report.log.epochs.count, 8)
        XCTAssertEqual(report.log.iterationRecords, 32)
        XCTAssertEqual(report.log.queueSize, 256)
        XCTAssertEqual(report.log.miningEpoch, 5)
        XCTAssertEqual(report.log.epochs[0].contrastive, 5.25, accuracy: 1e-5)
        XCTAssertEqual(report.log.epochs[0].throughput, 4 / 2.1, accuracy: 1e-9)
        XCTAssertEqual(report.log.epochs[6].lr, 0.001, accuracy: 1e-9)
        XCTAssertEqual(report.checkpoint?.metadata["epoch"], "8")
        // The confusion matrix comes from the saved logits: every 5th sample of class c is called c + 1.
        let r = try XCTUnwrap(report.evaluations.first)
        XCTAssertTrue(r.figuresFrom.hasSuffix("linear_best_logits.npy"))
        XCTAssertEqual(r.report.confusion.flatMap { $0 }.reduce(0, +), 130)
        XCTAssertEqual(r.report.top1, 104.0 / 130, accuracy: 1e-12)
        XCTAssertEqual(r.report.confusion[0][0] + r.report.confusion[0][1], 10)
        XCTAssertEqual(r.report.confusion[0][1], 2)
        // The map keeps the clusters: ≥ 95 % of 5 nearest neighbours share the class.
        let map = try XCTUnwrap(report.representations)
        XCTAssertEqual(map.labels.count, 260)
        XCTAssertGreaterThanOrEqual(map.agreementInPlane, 0.95)
        XCTAssertEqual(map.agreementInRepresentation, 1, accuracy: 1e-12)
    }

    func testClassNames() throws {
        XCTAssertEqual(try ClassNames.resolve(count: 60).first, "drink water")
        XCTAssertEqual(try ClassNames.resolve(count: 60).last, "walking apart from each other")
        XCTAssertEqual(try ClassNames.resolve(count: 3), ["class 0", "class 1", "class 2"])
        let file = ScratchPaths.make("names").path
        try "[\"a\", \"b\"]".write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ClassNames.resolve(count: 2, file: file), ["a", "b"])
        XCTAssertThrowsError(try ClassNames.resolve(count: 3, file: file)) { error in
            XCTAssertEqual("\(error)", "\(file): 2 class names for 3 classes")
        }
    }

    func testBadInputsNameTheFileAndLine() throws {
        let fixture = try ReportFixture()
        let missing = fixture.root.appendingPathComponent("nothing").path
        XCTAssertThrowsError(try RunLog.read(runDirectory: missing)) { XCTAssertTrue("\($0)".hasPrefix(missing + ": no such folder")) }
        XCTAssertThrowsError(try RunLog.read(runDirectory: fixture.eval)) { XCTAssertTrue("\($0)".contains("log.jsonl: missing")) }
        let path = fixture.run + "/log.jsonl"
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        // A torn last line (a kill mid-write) is skipped; a torn line before a resume's header too.
        try (lines + ["{\"type\":\"epo"]).joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try RunLog.read(runDirectory: fixture.run).tornLines, [lines.count + 1])
        try (lines[0..<3] + ["{\"type\":\"ite", lines[0]] + lines[3...]).joined(separator: "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let resumed = try RunLog.read(runDirectory: fixture.run)
        XCTAssertEqual(resumed.tornLines, [4])
        XCTAssertEqual(resumed.headers.count, 2)
        // Header fields of other versions are kept and shown.
        try (lines + ["{\"type\":\"header\",\"host\":\"node7\",\"git\":{\"commit\":\"abc\"}}"]).joined(separator: "\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let extended = try RunLog.read(runDirectory: fixture.run)
        XCTAssertEqual(extended.headers.last?.other["host"], .string("node7"))
        XCTAssertEqual(extended.headers.last?.other["git"]?["commit"], .string("abc"))
        // Anywhere else a malformed line is an error naming file and line.
        lines.insert("not json", at: 5)
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunLog.read(runDirectory: fixture.run)) { XCTAssertEqual("\($0)", "\(path):6: not a JSON object") }
        lines[5] = "{\"type\":\"epoch\",\"epoch\":1}"
        try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RunLog.read(runDirectory: fixture.run)) { XCTAssertTrue("\($0)".hasPrefix("\(path):6: epoch without")) }

        XCTAssertThrowsError(try EvaluationResult.read(directory: fixture.run)) { XCTAssertTrue("\($0)".contains("no *_result.json")) }
        let result = fixture.eval + "/linear_result.json"
        try "{\"protocol\": 3}".write(toFile: result, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try EvaluationResult.read(directory: fixture.eval)) { XCTAssertTrue("\($0)".hasPrefix(result + ": not an evaluation result")) }

        try LabelFile(names: ["a"], labels: [0]).write(to: fixture.labels)
        XCTAssertThrowsError(try RepresentationMap.readInputs(embeddings: fixture.embeddings, labels: fixture.labels)) {
            XCTAssertEqual("\($0)", "\(fixture.labels): 1 labels for the 260 rows of \(fixture.embeddings)")
        }
    }

    func testCommandLineReportAndOneLineErrors() throws {
        let fixture = try ReportFixture()
        let out = fixture.root.appendingPathComponent("report.html").path
        let ok = try CLIBadInputTests.aimclr(["report", fixture.run, fixture.eval, "--out", out, "--embeddings", fixture.embeddings,
                                              "--labels", fixture.labels, "--class-names", fixture.classNamesFile,
                                              "--tsne-iterations", "300"], in: fixture.root.path)
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(html.contains("aria-label=\"t-SNE of test representations\""))
        XCTAssertTrue(html.contains(">handshake<"))

        let missing = try CLIBadInputTests.aimclr(["report", fixture.root.path + "/none", "--out", out], in: fixture.root.path)
        XCTAssertEqual(missing.status, 1)
        XCTAssertEqual(missing.stderrLines.count, 1, missing.stderr)
        XCTAssertTrue(missing.stderr.contains("/none: no such folder"), missing.stderr)
        try "{\"type\":\"header\"}\nbroken\n{\"type\":\"epoch\"}\n".write(toFile: fixture.run + "/log.jsonl", atomically: true, encoding: .utf8)
        let broken = try CLIBadInputTests.aimclr(["report", fixture.run, "--out", out], in: fixture.root.path)
        XCTAssertEqual(broken.status, 1)
        XCTAssertEqual(broken.stderrLines.count, 1, broken.stderr)
        XCTAssertTrue(broken.stderr.contains("log.jsonl:2: not a JSON object"), broken.stderr)
        let half = try CLIBadInputTests.aimclr(["report", fixture.run, "--embeddings", fixture.embeddings], in: fixture.root.path)
        XCTAssertEqual(half.status, 1)
        XCTAssertTrue(half.stderr.contains("give --embeddings and --labels together"), half.stderr)
    }
}
