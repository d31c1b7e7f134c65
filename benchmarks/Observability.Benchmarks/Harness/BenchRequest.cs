using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Microsoft.AspNetCore.Routing;

namespace Observability.Benchmarks.Harness;

/// <summary>
/// One reusable request, built the way Kestrel serves a keep-alive connection: the <see cref="DefaultHttpContext"/>,
/// its feature collection, header dictionaries and callback list live for the connection and are reset per request,
/// so after the first request the harness itself allocates nothing and a benchmark's "Allocated" column is exactly
/// what the code under test allocates. Unlike a bare <see cref="DefaultHttpContext"/>, its response really runs the
/// <c>OnStarting</c> callbacks when the handler starts the response, so header work is measured.
/// </summary>
public sealed class BenchRequest
{
    private readonly FeatureCollection _features = new();
    private readonly HttpRequestFeature _request = new();
    private readonly BenchResponseFeature _response = new();
    private readonly EndpointFeature _endpoint = new();
    private readonly HttpRequestIdentifierFeature _identifier = new();
    private readonly string? _requestIdHeader;
    private readonly string? _requestIdValue;

    /// <param name="method">The request method.</param>
    /// <param name="path">The request path.</param>
    /// <param name="endpoint">The endpoint routing matched (routing runs before the middleware in WebApplication), or null.</param>
    /// <param name="requestIdHeader">An incoming request ID header to send, or null for none.</param>
    /// <param name="requestIdValue">Its value.</param>
    public BenchRequest(string method, string path, Endpoint? endpoint, string? requestIdHeader = null, string? requestIdValue = null)
    {
        _request.Method = method;
        _request.Path = path;
        _request.Scheme = "http";
        _request.Protocol = "HTTP/1.1";
        _request.Headers = new HeaderDictionary();
        _requestIdHeader = requestIdHeader;
        _requestIdValue = requestIdValue;
        _endpoint.Endpoint = endpoint;

        _features.Set<IHttpRequestFeature>(_request);
        _features.Set<IHttpResponseFeature>(_response);
        _features.Set<IHttpResponseBodyFeature>(_response);
        _features.Set<IEndpointFeature>(_endpoint);
        _features.Set<IRouteValuesFeature>(_endpoint);
        _features.Set<IHttpRequestIdentifierFeature>(_identifier);
        _features.Set<IHttpRequestLifetimeFeature>(new HttpRequestLifetimeFeature());
        // One address object per connection, as Kestrel has: IPAddress caches its text, so ClientIp costs a string
        // once per connection, not per request.
        _features.Set<IHttpConnectionFeature>(new HttpConnectionFeature
        {
            RemoteIpAddress = IPAddress.Parse("127.0.0.1"),
            RemotePort = 50000,
            LocalIpAddress = IPAddress.Parse("127.0.0.1"),
            LocalPort = 8080,
            ConnectionId = "0HN0000000001",
        });
        Context = new DefaultHttpContext(_features);
        Reset();
    }

    public DefaultHttpContext Context { get; }

    /// <summary>The response headers of the last request (for checks in setup, not in the measured path).</summary>
    public IHeaderDictionary ResponseHeaders => _response.Headers;

    /// <summary>
    /// Puts the connection back to "new request": what Kestrel does between two requests on one connection. Clears
    /// per-request features (Kestrel drops every feature it does not own, e.g. the authentication feature
    /// <c>HttpContext.User</c> creates) and puts back the ones it owns that a request replaced (the request identifier,
    /// which the library's <see cref="RequestScope"/> wraps), keeps the dictionaries' capacity.
    /// </summary>
    public void Reset()
    {
        _response.Reset();
        var headers = _request.Headers;
        if (_requestIdHeader is not null && headers.Count == 0)
        {
            headers[_requestIdHeader] = _requestIdValue;
        }

        if (!ReferenceEquals(_features.Get<IHttpRequestIdentifierFeature>(), _identifier))
        {
            _features.Set<IHttpRequestIdentifierFeature>(_identifier);
        }

        if (_features.Get<IHttpAuthenticationFeature>() is not null)
        {
            _features.Set<IHttpAuthenticationFeature>(null);
        }
    }

    /// <summary>A handler that answers 200 and starts the response, which runs the <c>OnStarting</c> callbacks.</summary>
    public static readonly RequestDelegate StartResponse = static context =>
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        return context.Response.StartAsync();
    };

    private sealed class EndpointFeature : IEndpointFeature, IRouteValuesFeature
    {
        public Endpoint? Endpoint { get; set; }

        public RouteValueDictionary RouteValues { get; set; } = new();
    }
}

/// <summary>
/// A response that behaves like Kestrel's for what the middleware touches: headers, status, <c>HasStarted</c>, and
/// <c>OnStarting</c> callbacks run last-registered-first when the response starts.
/// </summary>
internal sealed class BenchResponseFeature : IHttpResponseFeature, IHttpResponseBodyFeature
{
    private readonly List<KeyValuePair<Func<object, Task>, object>> _onStarting = [];
    private readonly List<KeyValuePair<Func<object, Task>, object>> _onCompleted = [];
    private readonly HeaderDictionary _headers = new();

    public int StatusCode { get; set; } = StatusCodes.Status200OK;

    public string? ReasonPhrase { get; set; }

    public IHeaderDictionary Headers
    {
        get => _headers;
        set => throw new NotSupportedException();
    }

    public Stream Body { get; set; } = Stream.Null;

    public bool HasStarted { get; private set; }

    public Stream Stream => Stream.Null;

    public PipeWriter Writer { get; } = PipeWriter.Create(Stream.Null);

    public void OnStarting(Func<object, Task> callback, object state) => _onStarting.Add(new(callback, state));

    public void OnCompleted(Func<object, Task> callback, object state) => _onCompleted.Add(new(callback, state));

    public void DisableBuffering()
    {
    }

    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (HasStarted)
        {
            return Task.CompletedTask;
        }

        HasStarted = true;
        for (var i = _onStarting.Count - 1; i >= 0; i--)
        {
            var (callback, state) = _onStarting[i];
            var task = callback(state);
            if (!task.IsCompletedSuccessfully)
            {
                task.GetAwaiter().GetResult();
            }
        }

        return Task.CompletedTask;
    }

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException();

    public Task CompleteAsync() => StartAsync();

    public void Reset()
    {
        HasStarted = false;
        StatusCode = StatusCodes.Status200OK;
        ReasonPhrase = null;
        _onStarting.Clear();
        _onCompleted.Clear();
        _headers.Clear();
    }
}
