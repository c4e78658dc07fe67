import Foundation

/// The C library's text for a failed file operation ("No space left on device"), also when Foundation
/// reports it as one of its own errors ("There isn't enough space."): logs and errors then name the
/// cause the same way whichever layer failed.
public func systemErrorText(_ error: Error) -> String {
    let ns = error as NSError
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    if ns.domain == NSCocoaErrorDomain {
        switch ns.code {
        case NSFileWriteOutOfSpaceError: return String(cString: strerror(ENOSPC))
        case NSFileWriteVolumeReadOnlyError: return String(cString: strerror(EROFS))
        case NSFileWriteNoPermissionError: return String(cString: strerror(EACCES))
        default: break
        }
    }
    return error.localizedDescription
}
