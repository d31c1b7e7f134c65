using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.RequestId;

/// <summary>Validates <c>Observability:RequestId</c> at startup, naming the key and the bad value.</summary>
internal sealed class RequestIdOptionsValidator : IValidateOptions<ObservabilityOptions>
{
    public ValidateOptionsResult Validate(string? name, ObservabilityOptions options)
    {
        var header = options.RequestId.Header;
        if (!HeaderNames.IsValidHeaderName(header))
        {
            return ValidateOptionsResult.Fail($"Observability:RequestId:Header must be a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~); was '{header}'.");
        }

        return HeaderNames.IsReserved(header)
            ? ValidateOptionsResult.Fail($"Observability:RequestId:Header must not be a header HTTP, the server or browsers give a meaning to (Content-*, Accept*, If-*, hop-by-hop headers such as Connection or Transfer-Encoding, Host, Date, Set-Cookie, Location, X-Forwarded-*, X-Response-Time, ...); was '{header}'.")
            : ValidateOptionsResult.Success;
    }
}
