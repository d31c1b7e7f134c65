using Microsoft.AspNetCore.Http;
using Observability.AspNetCore.RequestId;
using Observability.AspNetCore.SlowQueries;
using Serilog.Events;

namespace Observability.AspNetCore.Pipeline;

/// <summary>
/// Per-request state, stored once in <see cref="HttpContext.Features"/>. Created by whichever comes first: the
/// middleware, or the log enricher (ASP.NET Core's hosting logs "Request starting" before any middleware runs), so every
/// event of the request carries the same ID.
/// </summary>
internal sealed class RequestScope
{
    private LogEventProperty? _requestIdProperty;
    private RequestDbStats? _db;

    private RequestScope(string requestId) => RequestId = requestId;

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

    /// <summary>The endpoint when routing ran before the middleware, else null.</summary>
    public EndpointInfo? StartEndpoint { get; set; }

    /// <summary>Streaming by design (WebSocket, server-sent events, gRPC streaming) or opted out: never slow, never hung.</summary>
    public bool ExcludedFromSlowDetection { get; set; }

    /// <summary>Set once by the watchdog, so a hung request is reported once.</summary>
    public bool HungReported { get; set; }

    /// <summary>The request's database commands (count, time, repeated shapes); null until it runs one.</summary>
    public RequestDbStats? Db => Volatile.Read(ref _db);

    /// <summary>The request's database statistics, created by its first command (commands may run in parallel).</summary>
    public RequestDbStats GetOrCreateDb()
    {
        if (Volatile.Read(ref _db) is { } db)
        {
            return db;
        }

        var created = new RequestDbStats();
        return Interlocked.CompareExchange(ref _db, created, null) ?? created;
    }

    public void Start(HttpContext context, string header, long startTimestamp)
    {
        Context = context;
        Header = header;
        StartTimestamp = startTimestamp;
        Method = context.Request.Method;
        Path = context.Request.Path.Value ?? "/";
    }

    public static RequestScope GetOrCreate(HttpContext context, string header)
    {
        // The indexer, not Features.Get<T>(): the generic path dispatches more slowly on Kestrel's collection, per request.
        var scope = context.Features[typeof(RequestScope)] as RequestScope;
        if (scope is not null)
        {
            return scope;
        }

        var id = RequestIdValidator.IsValid(context.Request.Headers[header], out var incoming)
            ? incoming
            : RequestIdGenerator.Next();
        scope = new RequestScope(id);
        context.TraceIdentifier = id;
        context.Features[typeof(RequestScope)] = scope;
        return scope;
    }
}
