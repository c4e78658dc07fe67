import Foundation
import TestSupport
import XCTest
@testable import AimCLR

/// The report as a browser draws it: headless Chromium renders the page to a PNG, which is
/// decoded and checked pixel by pixel against a blank page of the same size.
///
/// Set AIMCLR_REPORT_SCREENSHOT_DIR to keep the page and its screenshot (how docs/report.png is made).
final class ReportRenderTests: XCTestCase {
    static let width = 1280, height = 4000

    static func chromium() -> String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Renders `html` (a file) to `png`; Chromium is killed after 60 s.
    static func render(_ html: String, to png: String, profile: String, width: Int = width, height: Int = height) throws -> Int32 {
        guard let browser = chromium() else { return -1 }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        // --no-sandbox: Chromium refuses to start as root otherwise; the page is our own file.
        p.arguments = ["-k", "5", "60", browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                       "--user-data-dir=\(profile)", "--screenshot=\(png)", "--window-size=\(width),\(height)",
                       URL(fileURLWithPath: html).absoluteString]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Share of pixels that are not (near) white, and whether some pixel is close to `colour`.
    static func ink(_ image: PNGImage) -> Double {
        var dark = 0
        image.pixels.withUnsafeBufferPointer { px in
            for i in stride(from: 0, to: px.count, by: image.channels) where Int(px[i]) + Int(px[i + 1]) + Int(px[i + 2]) < 720 { dark += 1 }
        }
        return Double(dark) / Double(image.width * image.height)
    }

    static func hasColour(_ image: PNGImage, _ r: Int, _ g: Int, _ b: Int, tolerance: Int = 12) -> Bool {
        image.pixels.withUnsafeBufferPointer { px in
            for i in stride(from: 0, to: px.count, by: image.channels)
            where abs(Int(px[i]) - r) <= tolerance && abs(Int(px[i + 1]) - g) <= tolerance && abs(Int(px[i + 2]) - b) <= tolerance {
                return true
            }
            return false
        }
    }

    func testChromiumDrawsTheReport() throws {
        guard Self.chromium() != nil else {
            throw XCTSkip("chromium is not installed (`make test` installs it); the report's rendering is not checked")
        }
        let fixture = try ReportFixture()
        let html = fixture.root.appendingPathComponent("report.html").path
        let blank = fixture.root.appendingPathComponent("blank.html").path
        try fixture.report().write(to: html)
        try "<!DOCTYPE html><html><body></body></html>".write(toFile: blank, atomically: true, encoding: .utf8)
        let png = fixture.root.appendingPathComponent("report.png").path, blankPNG = fixture.root.appendingPathComponent("blank.png").path
        let profile = fixture.root.appendingPathComponent("profile").path
        XCTAssertEqual(try Self.render(html, to: png, profile: profile), 0, "chromium failed or ran past 60 s")
        XCTAssertEqual(try Self.render(blank, to: blankPNG, profile: profile), 0, "chromium failed or ran past 60 s")

        let page = try PNGImage(contentsOf: png), empty = try PNGImage(contentsOf: blankPNG)
        XCTAssertEqual(page.width, Self.width)
        XCTAssertEqual(page.height, Self.height)
        XCTAssertEqual(empty.width, Self.width)
        let pageInk = Self.ink(page), emptyInk = Self.ink(empty)
        print(String(format: "rendered report: %.2f%% of pixels inked (blank page %.2f%%)", pageInk * 100, emptyInk * 100))
        XCTAssertEqual(emptyInk, 0)
        XCTAssertGreaterThan(pageInk, 0.02)
        // The figures' colours reach the screen: the first series (#1f77b4), the chance line
        // (#d62728) and the darkest heat-map cells (#08306b, the diagonal).
        XCTAssertTrue(Self.hasColour(page, 0x1f, 0x77, 0xb4), "no series colour")
        XCTAssertTrue(Self.hasColour(page, 0xd6, 0x27, 0x28), "no chance-line colour")
        XCTAssertTrue(Self.hasColour(page, 0x08, 0x30, 0x6b, tolerance: 30), "no dark heat-map cell")

        if let keep = ProcessInfo.processInfo.environment["AIMCLR_REPORT_SCREENSHOT_DIR"] {
            try FileManager.default.createDirectory(atPath: keep, withIntermediateDirectories: true)
            for f in [html, png] {
                let target = keep + "/" + URL(fileURLWithPath: f).lastPathComponent
                try? FileManager.default.removeItem(atPath: target)
                try FileManager.default.copyItem(atPath: f, toPath: target)
            }
        }
    }
}
