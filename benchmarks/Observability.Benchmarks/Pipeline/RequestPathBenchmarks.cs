using BenchmarkDotNet.Attributes;
using Observability.AspNetCore.Core;
using Observability.AspNetCore.Pipeline;
using Observability.Benchmarks.Harness;

namespace Observability.Benchmarks.Pipeline;

/// <summary>
/// The library's per-request work, one piece at a time, driven through the real <see cref="ObservabilityMiddleware"/>
/// (the only middleware the library adds) with every other piece switched off by configuration. Each benchmark is one
/// whole request: reset the reused connection state, run the middleware around a handler that starts the response
/// (so the <c>OnStarting</c> header callback runs). <see cref="Harness_only"/> is that without the middleware: the
/// harness allocates nothing, so every other row's "Allocated" is the library's own allocation per request.
/// </summary>
[MemoryDiagnoser]
public class RequestPathBenchmarks
{
    private const string RequestIdHeader = "X-Request-ID";
    private const string ValidId = "3f6c2a9e-8b1d-4c57-a0e4-7d2b91c4e5f3";

    // Worst case for the validator: 127 acceptable characters, then one that is not (a quote, as in a header
    // crafted to break out of a JSON log line), so the whole value is scanned before it is replaced.
    private static readonly string HostileId = new string('a', 127) + "\"";

    private MiddlewareHost _requestIdOnly = null!;
    private MiddlewareHost _metricsOnly = null!;
    private MiddlewareHost _slowCheckOnly = null!;
    private MiddlewareHost _defaults = null!;
    private MiddlewareHost _defaultsEventFiltered = null!;

    private BenchRequest _validId = null!;
    private BenchRequest _noId = null!;
    private BenchRequest _hostileId = null!;
    private BenchRequest _ownEndpoint = null!;

    [GlobalSetup]
    public void Setup()
    {
        var items = MiddlewareHost.Endpoint("/api/items/{id:int}");
        var metricsEndpoint = MiddlewareHost.Endpoint("/metrics", ObservabilityEndpointMetadata.Instance);
        _validId = new BenchRequest("GET", "/api/items/42", items, RequestIdHeader, ValidId);
        _noId = new BenchRequest("GET", "/api/items/42", items);
        _hostileId = new BenchRequest("GET", "/api/items/42", items, RequestIdHeader, HostileId);
        _ownEndpoint = new BenchRequest("GET", "/metrics", metricsEndpoint, RequestIdHeader, ValidId);

        _requestIdOnly = MiddlewareHost.Create(MiddlewareHost.RequestIdOnly(), BenchRequest.StartResponse);

        var metrics = MiddlewareHost.RequestIdOnly();
        metrics["Observability:Metrics:Enabled"] = "true";
        _metricsOnly = MiddlewareHost.Create(metrics, BenchRequest.StartResponse);

        var slow = MiddlewareHost.RequestIdOnly();
        slow.Remove("Observability:SlowRequests:ThresholdMs");
        slow.Remove("Observability:SlowRequests:HungAfterMs");
        _slowCheckOnly = MiddlewareHost.Create(slow, BenchRequest.StartResponse);

        _defaults = MiddlewareHost.Create(new Dictionary<string, string?>(), BenchRequest.StartResponse);
        _defaultsEventFiltered = MiddlewareHost.Create(new Dictionary<string, string?> { ["Serilog:MinimumLevel:Default"] = "Warning" }, BenchRequest.StartResponse);

        // The first request to an endpoint creates its cached state (endpoint info, metric children); the targets are
        // about every request after that.
        foreach (var (host, request) in new[] { (_requestIdOnly, _validId), (_metricsOnly, _validId), (_slowCheckOnly, _validId), (_defaults, _noId), (_defaults, _ownEndpoint), (_defaultsEventFiltered, _validId) })
        {
            Run(host, request).GetAwaiter().GetResult();
            if (!request.ResponseHeaders.ContainsKey(RequestIdHeader) || !request.ResponseHeaders.ContainsKey(ObservabilityMiddleware.ResponseTimeHeader))
            {
                throw new InvalidOperationException("The OnStarting callback did not run: the harness would not measure the header work.");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _requestIdOnly.Dispose();
        _metricsOnly.Dispose();
        _slowCheckOnly.Dispose();
        _defaults.Dispose();
        _defaultsEventFiltered.Dispose();
    }

    /// <summary>The harness alone: reset the reused request, run the handler. Allocates nothing.</summary>
    [Benchmark]
    public Task Harness_only()
    {
        _validId.Reset();
        return BenchRequest.StartResponse(_validId.Context);
    }

    /// <summary>Request ID from a valid incoming header; every other piece off.</summary>
    [Benchmark]
    public Task RequestId_valid_incoming() => Run(_requestIdOnly, _validId);

    /// <summary>No incoming ID: one is generated.</summary>
    [Benchmark]
    public Task RequestId_none() => Run(_requestIdOnly, _noId);

    /// <summary>An incoming ID that fails validation at its last character: scanned, rejected, replaced.</summary>
    [Benchmark]
    public Task RequestId_hostile() => Run(_requestIdOnly, _hostileId);

    /// <summary>Request ID (valid incoming) + metrics for a matched route (in-progress gauge, counter, histogram).</summary>
    [Benchmark]
    public Task Metrics_matched_route() => Run(_metricsOnly, _validId);

    /// <summary>Request ID (valid incoming) + slow-request check under the threshold and the hung-request slot.</summary>
    [Benchmark]
    public Task SlowCheck_under_threshold() => Run(_slowCheckOnly, _validId);

    /// <summary>All defaults, a request to the library's own endpoint: its completion event is at Debug, filtered out.</summary>
    [Benchmark]
    public Task Completion_filtered_own_endpoint() => Run(_defaults, _ownEndpoint);

    /// <summary>All defaults with the completion event filtered out by level, valid incoming ID: every piece but the event.</summary>
    [Benchmark]
    public Task Defaults_event_filtered() => Run(_defaultsEventFiltered, _validId);

    /// <summary>All defaults, no incoming ID, the completion event formatted (CLEF) and written to a discarding stream.</summary>
    [Benchmark]
    public Task Defaults_event_written() => Run(_defaults, _noId);

    private static Task Run(MiddlewareHost host, BenchRequest request)
    {
        request.Reset();
        return host.Middleware.InvokeAsync(request.Context);
    }
}
