import Hummingbird

/// An API error answered as `{"error": {"status", "message", "field"}}`: 400 names the field or
/// parameter at fault.
struct APIError: Error {
    var status: HTTPResponse.Status
    var message: String
    var field: String?

    static func badRequest(_ field: String, _ message: String) -> APIError { APIError(status: .badRequest, message: message, field: field) }
    static let unauthorized = APIError(status: .unauthorized, message: "a bearer token is required (Authorization: Bearer <token>)")
    static func forbidden(_ message: String) -> APIError { APIError(status: .forbidden, message: message) }
    static func notFound(_ message: String) -> APIError { APIError(status: .notFound, message: message) }
    static func conflict(_ message: String) -> APIError { APIError(status: .conflict, message: message) }
}
