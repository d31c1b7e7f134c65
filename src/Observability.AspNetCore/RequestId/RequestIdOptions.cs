namespace Observability.AspNetCore;

/// <summary>Request ID settings, bound from <c>Observability:RequestId</c>.</summary>
public sealed class RequestIdOptions
{
    /// <summary>The default request ID header name: <c>X-Request-ID</c>.</summary>
    public const string DefaultHeader = "X-Request-ID";

    /// <summary>
    /// The header that carries the request ID in and out (<c>Observability:RequestId:Header</c>, default <c>X-Request-ID</c>).
    /// An incoming value is kept when it is 1–128 characters of letters, digits and <c>-_.:</c>; otherwise a new ID is generated.
    /// </summary>
    public string Header { get; set; } = DefaultHeader;
}
