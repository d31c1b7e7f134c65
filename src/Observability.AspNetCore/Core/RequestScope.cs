using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Features.Authentication;
using Serilog.Events;

namespace Observability.AspNetCore.Core;

/// <summary>
/// Per-request state. Created by whichever comes first: the middleware, or the log enricher (ASP.NET Core's hosting
/// logs "Request starting" before any middleware runs), so every event of the request carries the same ID.
/// <para>
/// It is the request's <see cref="IHttpRequestIdentifierFeature"/>: the request ID is the request's
/// <c>TraceIdentifier</c>, and the server's own feature stays underneath it (it is told the ID too, so the server's
/// logs carry it, and it still answers <c>TraceIdentifier</c>). Stored there rather than under a type of its own
/// because the server keeps that feature in a field: Kestrel finds an unknown feature type by walking its whole
/// feature list and then the connection's (a miss for every new request, ~0.2 µs under load by profile), and a stored
/// one goes into a per-request list it clears after every request. The server resets the feature for the next
/// request on the connection.
/// </para>
/// </summary>
internal sealed class RequestScope : IHttpRequestIdentifierFeature
{
    private readonly IHttpRequestIdentifierFeature? _server;
    private LogEventProperty? _requestIdProperty;
    private RequestDbStats? _db;
    private string? _traceIdentifier;
    private bool _excludedFromSlowDetection;

    private RequestScope(string requestId, IHttpRequestIdentifierFeature? server)
    {
        RequestId = requestId;
        _server = server;
        _traceIdentifier = requestId;
    }

    /// <summary>The request: set by the middleware, read by its <c>OnStarting</c> callback (a static lambda over this state).</summary>
    public HttpContext? Context { get; private set; }

    /// <summary>The configured request ID header name.</summary>
    public string? Header { get; private set; }

    /// <summary>When the middleware first saw the request (<see cref="System.Diagnostics.Stopwatch.GetTimestamp"/>).</summary>
    public long StartTimestamp { get; private set; }

    /// <summary>The request ID: the valid incoming header value, else a generated one.</summary>
    public string RequestId { get; }

    /// <summary>The <c>RequestId</c> log property, created once per request on the first event that needs it.</summary>
    public LogEventProperty RequestIdProperty =>
        _requestIdProperty ??= new LogEventProperty(LogPropertyNames.RequestId, new ScalarValue(RequestId));

    /// <summary>The request's method and path, captured on the request's thread for the hung-request watchdog.</summary>
    public string? Method { get; private set; }

    public string? Path { get; private set; }

    /// <summary>
    /// The request's activity (ASP.NET Core's hosting span) as the middleware found it: the completion event's
    /// <c>@tr</c>/<c>@sp</c>, and the hung-request watchdog's, which logs from its timer thread outside the request.
    /// </summary>
    public Activity? Activity { get; private set; }

    /// <summary>
    /// The request's feature-collection revision when the middleware started: a later one means something set a
    /// feature since (the user, for one), which the completion event checks before it looks for the user.
    /// </summary>
    public int FeaturesRevision { get; private set; }

    /// <summary>
    /// True when the server keeps the user in its own request object (IIS and HTTP.sys do, Kestrel does not): setting
    /// <c>HttpContext.User</c> then changes that object without setting a feature.
    /// </summary>
    public bool ServerHoldsUser => _server is IHttpAuthenticationFeature;

    /// <summary>The endpoint when routing ran before the middleware, else null.</summary>
    public EndpointInfo? StartEndpoint { get; set; }

    /// <summary>
    /// Streaming by design (WebSocket, server-sent events, gRPC streaming) or opted out: never slow, never hung. Set at
    /// request start, or when the response starts as an event stream; volatile because the hung scan reads it from its timer thread.
    /// </summary>
    public bool ExcludedFromSlowDetection
    {
        get => Volatile.Read(ref _excludedFromSlowDetection);
        set => Volatile.Write(ref _excludedFromSlowDetection, value);
    }

    /// <summary>Set once by the watchdog, so a hung request is reported once.</summary>
    public bool HungReported { get; set; }

    /// <summary>The request's database commands (count, time, repeated shapes); null until it runs one.</summary>
    public RequestDbStats? Db => Volatile.Read(ref _db);

    /// <summary>
    /// Sets the request's database statistics once, from its first command (commands may run in parallel): returns the
    /// one set first, which is <paramref name="created"/> unless another command won the race.
    /// </summary>
    public RequestDbStats SetDbOnce(RequestDbStats created) =>
        Interlocked.CompareExchange(ref _db, created, null) ?? created;

    public void Start(HttpContext context, string header, long startTimestamp)
    {
        Context = context;
        Header = header;
        StartTimestamp = startTimestamp;
        Method = context.Request.Method;
        Path = context.Request.Path.Value ?? "/";
        Activity = Activity.Current;
        FeaturesRevision = context.Features.Revision;
    }

    /// <summary>
    /// The request's <c>TraceIdentifier</c>: the request ID, unless code set another one later (kept as set, passed on
    /// to the server's feature, and not the request ID: the headers and logs already carry that).
    /// </summary>
    string IHttpRequestIdentifierFeature.TraceIdentifier
    {
        get => _server?.TraceIdentifier ?? _traceIdentifier!;
        set
        {
            _traceIdentifier = value;
            if (_server is not null)
            {
                _server.TraceIdentifier = value;
            }
        }
    }

    /// <summary>The request's state when the middleware or an early log event created it, else null.</summary>
    public static RequestScope? Find(HttpContext context) =>
        // The indexer, not Features.Get<T>(): the generic path dispatches more slowly on Kestrel's collection, per request.
        context.Features[typeof(IHttpRequestIdentifierFeature)] as RequestScope;

    public static RequestScope GetOrCreate(HttpContext context, string header)
    {
        var features = context.Features;
        var current = features[typeof(IHttpRequestIdentifierFeature)];
        if (current is RequestScope found)
        {
            return found;
        }

        var id = RequestIdValidator.IsValid(context.Request.Headers[header], out var incoming)
            ? incoming
            : RequestIdGenerator.Next();
        var server = current as IHttpRequestIdentifierFeature;
        if (server is not null)
        {
            server.TraceIdentifier = id;
        }

        var scope = new RequestScope(id, server);
        features[typeof(IHttpRequestIdentifierFeature)] = scope;
        return scope;
    }
}
