import CPUBackend
import Compute
import Foundation
import Skeleton
import XCTest
@testable import AimCLR

/// The engine's eval-mode forward against an independently written PyTorch ST-GCN
/// (Fixtures/make_forward_fixture.py): same weights (read from the `.pt` file), same input.
final class PyTorchForwardTests: XCTestCase {
    func fixture(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
    }

    func check(_ output: EmbeddingOutput, expected: String, device: Device) throws {
        let input = try NpyArray.read(fixture("forward_input.npy"))
        let want = try NpyArray.read(fixture(expected)).floats()
        let (got, dim) = try Embedder.embed(weights: fixture("forward_encoder.pt"), data: input, output: output,
                                            stream: .joint, layout: .ntuRGBD, device: device, batchSize: 2)
        XCTAssertEqual(dim * 2, want.count)
        let scale = want.map { abs($0) }.max()!
        // Spec §9: float32 forwards agree to about 4e-7 of each output's largest value.
        assertClose(got, want, abs: 2e-5 * scale, rel: 1e-4, "\(output) vs PyTorch on \(device.name)")
    }

    func testRepresentationAndLogitsMatchPyTorchOnCPU() throws {
        try check(.representation, expected: "forward_representation.npy", device: CPUDevice())
        try check(.logits, expected: "forward_logits.npy", device: CPUDevice())
    }

    func testRepresentationAndLogitsMatchPyTorchOnOpenCL() throws {
        guard let cl = try Tiny.openCL() else { return }
        try check(.representation, expected: "forward_representation.npy", device: cl)
        try check(.logits, expected: "forward_logits.npy", device: cl)
    }
}
