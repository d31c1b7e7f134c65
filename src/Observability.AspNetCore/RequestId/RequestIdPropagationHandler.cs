using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.RequestId;

/// <summary>
/// Forwards the current request's ID on outgoing calls of every <see cref="HttpClient"/> made through
/// <see cref="IHttpClientFactory"/>, so the downstream service logs the same ID. A header the caller set itself wins.
/// </summary>
internal sealed class RequestIdPropagationHandler(IHttpContextAccessor accessor, IOptions<ObservabilityOptions> options) : DelegatingHandler
{
    private readonly string _header = options.Value.RequestId.Header;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (accessor.HttpContext is { } context && !request.Headers.Contains(_header))
        {
            request.Headers.TryAddWithoutValidation(_header, RequestScope.GetOrCreate(context, _header).RequestId);
        }

        return base.SendAsync(request, cancellationToken);
    }
}
