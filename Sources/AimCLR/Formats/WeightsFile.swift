import Compute
import Foundation
import NN

/// Weights from any file the tools accept: safetensors, or a PyTorch `.pt`/`.pth` checkpoint
/// (read without Python). Dispatches on content, not on the file name.
public enum WeightsFile {
    public static func read(path: String) throws -> [String: HostTensor] {
        // Checked first: reading the head of a directory traps inside Foundation.
        if let problem = InputFile.problem(path) { throw TorchCheckpoint.Error.unreadable(path: path, detail: problem) }
        let head = (FileHandle(forReadingAtPath: path)?.readData(ofLength: 16)) ?? Data()
        let isTorch = ZipArchive.looksLikeZip(head)
            || (head.count >= 3 && head.prefix(3).elementsEqual(TorchCheckpoint.legacyMagic.prefix(3)))
        if isTorch { return try TorchCheckpoint.read(path: path) }
        return try SafeTensors.read(contentsOf: URL(fileURLWithPath: path)).dictionary
    }
}
