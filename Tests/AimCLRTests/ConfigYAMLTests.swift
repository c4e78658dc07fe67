import Foundation
import TestSupport
import XCTest
@testable import AimCLR

/// `config.yaml`: the effective configuration written in the reference keys reads back equal.
final class ConfigYAMLTests: XCTestCase {
    func testNonDefaultConfigurationRoundTrips() throws {
        var c = PretrainConfig()
        c.dataPath = "my data: v2/train_position.npy"
        c.labelPath = "#labels/'x'.pkl"
        c.workDir = "runs/yes"
        c.shearAmplitude = 0.3
        c.temporalPaddingRatio = 4
        c.stream = .bone
        c.method = .skeletonclr
        c.featureDim = 64
        c.queueSize = 256
        c.momentum = 0.99
        c.temperature = 0.2
        c.hiddenChannels = 8
        c.hiddenDim = 32
        c.numClass = 120
        c.dropout = 0.25
        c.layout = "kinect-v1"
        c.edgeImportance = false
        c.baseLR = 0.03
        c.weightDecay = 5e-5
        c.steps = [3, 7]
        c.batchSize = 32
        c.numEpoch = 9
        c.miningEpoch = 4
        c.topK = 2
        c.lrWarmupEpochs = 3
        c.eadmNoOp = true
        c.extremeTimeFlip = true
        c.queueWarmup = true
        c.keepTemporalColumns = false
        c.frameMajorBlocks = false
        c.saveInterval = 2
        c.seed = UInt64.max - 1
        c.maxIterationsPerEpoch = 3
        XCTAssertNotEqual(c, PretrainConfig())

        let path = ScratchPaths.make("aimclr-yaml").path + ".yaml"
        try c.yaml().write(toFile: path, atomically: true, encoding: .utf8)
        let (loaded, unknown) = try PretrainConfig.load(yaml: path)
        XCTAssertEqual(unknown, [])
        XCTAssertEqual(loaded, c)

        // The defaults (automatic column keeping included) too, and the reference layout of the file.
        try PretrainConfig().yaml().write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(try PretrainConfig.load(yaml: path).0, PretrainConfig())
        let text = try String(contentsOfFile: path, encoding: .utf8)
        for line in ["train_feeder_args:", "model_args:", "  queue_size: 32768", "base_lr: 0.1", "keep_temporal_columns: auto"] {
            XCTAssertTrue(text.contains(line + "\n"), "\(line) missing from\n\(text)")
        }
    }
}
