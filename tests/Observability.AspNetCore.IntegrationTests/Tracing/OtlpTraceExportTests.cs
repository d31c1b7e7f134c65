using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Observability.AspNetCore.IntegrationTests.Foundation;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using OpenTelemetry.Proto.Trace.V1;

namespace Observability.AspNetCore.IntegrationTests.Tracing;

/// <summary>
/// The sample run as a real process with one setting, <c>Observability:Otlp:Endpoint</c>, exporting over
/// <c>http/protobuf</c> to a receiver that decodes OTLP as a collector does: what a tracing backend would show.
/// </summary>
public sealed class OtlpTraceExportTests
{
    // The exporter batches; a short delay keeps the test from waiting the default 5 s per batch.
    private const string ScheduleDelayVariable = "OTEL_BSP_SCHEDULE_DELAY";
    private const string EfCoreScope = "Observability.AspNetCore.EntityFrameworkCore";

    internal static Dictionary<string, string?> TracingTo(OtlpReceiver receiver, string protocol = "http/protobuf") => new(StringComparer.Ordinal)
    {
        ["Observability__Otlp__Endpoint"] = receiver.Endpoint,
        ["Observability__Otlp__Protocol"] = protocol,
        [ScheduleDelayVariable] = "200",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = null,
        ["OTEL_SERVICE_NAME"] = null,
        ["OTEL_RESOURCE_ATTRIBUTES"] = null,
    };

    [Fact]
    public async Task A_request_its_sql_and_its_outgoing_call_arrive_as_one_trace_whose_ids_are_those_of_its_log_line()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var sample = await SampleApiProcess.StartAsync(TracingTo(receiver));

        using var response = await sample.Client.GetAsync("/api/outgoing");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);
        var completion = await WaitForCompletionEventAsync(sample.App, requestId, "/api/outgoing");
        var traceId = completion.StringProperty("@tr");
        var spanId = completion.StringProperty("@sp");
        Assert.False(string.IsNullOrEmpty(traceId), $"The completion event has no @tr:\n{completion}");
        Assert.False(string.IsNullOrEmpty(spanId), $"The completion event has no @sp:\n{completion}");

        // The request's span, its two children, and the span of the call as this app received it.
        var spans = await receiver.WaitForSpansAsync(all =>
            all.Any(s => s.SpanId == spanId)
            && all.Count(s => s.ParentSpanId == spanId) >= 2
            && all.Any(s => s.Kind == Span.Types.SpanKind.Server && s.TraceId == traceId && s.ParentSpanId != null && s.ParentSpanId != spanId));
        Assert.Empty(receiver.Rejected);

        var server = Assert.Single(spans, s => s.SpanId == spanId);
        Assert.Equal(traceId, server.TraceId);
        Assert.Equal(Span.Types.SpanKind.Server, server.Kind);
        Assert.Equal("GET /api/outgoing", server.Name);
        Assert.Equal("/api/outgoing", server.Attribute("http.route"));
        Assert.Equal(requestId, server.Attribute("request.id"));
        Assert.Null(server.ParentSpanId);

        var sql = Assert.Single(spans, s => s.ParentSpanId == spanId && s.Scope == EfCoreScope && s.Attribute("db.query.text")!.Contains("COUNT", StringComparison.Ordinal));
        Assert.Equal(traceId, sql.TraceId);
        Assert.Equal(Span.Types.SpanKind.Client, sql.Kind);
        Assert.Equal("sqlite", sql.Attribute("db.system.name"));
        Assert.Equal("SELECT", sql.Attribute("db.operation.name"));
        Assert.Contains("COUNT(*)", sql.Attribute("db.query.text"), StringComparison.Ordinal);

        var call = Assert.Single(spans, s => s.ParentSpanId == spanId && s.Scope == "System.Net.Http");
        Assert.Equal(Span.Types.SpanKind.Client, call.Kind);
        Assert.Equal("GET", call.Attribute("http.request.method"));
        Assert.Equal("200", call.Attribute("http.response.status_code"));

        // traceparent went out with the call: the app's own "/" joined the same trace, under the client span.
        var called = Assert.Single(spans, s => s.Kind == Span.Types.SpanKind.Server && s.ParentSpanId == call.SpanId);
        Assert.Equal(traceId, called.TraceId);
        Assert.Equal("GET /", called.Name);

        // One identity everywhere: the resource says what the log lines say.
        Assert.Equal("sample-api", server.Resource["service.name"]);
        Assert.Equal(completion.StringProperty("Service"), server.Resource["service.name"]);
        Assert.Equal(completion.StringProperty("Version"), server.Resource["service.version"]);
        Assert.Equal("Production", server.Resource["deployment.environment.name"]);
    }

    [Fact]
    public async Task Probes_and_scrapes_of_the_library_s_own_endpoints_are_not_traced()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var sample = await SampleApiProcess.StartAsync(TracingTo(receiver));

        foreach (var path in new[] { "/health", "/health/live", "/health/ready", "/health/detailed", "/metrics" })
        {
            using var own = await sample.Client.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        }

        // A request of the app's own after them: once its span is in, the probes' would be too.
        using var response = await sample.Client.GetAsync("/api/items/1");
        var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);
        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => s.Attribute("request.id") == requestId));

        Assert.DoesNotContain(spans, s => s.Kind == Span.Types.SpanKind.Server && (s.Attribute("url.path") ?? "") is "/health" or "/health/live" or "/health/ready" or "/health/detailed" or "/metrics");
        Assert.Contains(spans, s => s.Kind == Span.Types.SpanKind.Server && s.Attribute("url.path") == "/api/items/1");
    }

    [Fact]
    public async Task The_span_of_a_failing_request_has_status_error_and_the_exception()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var sample = await SampleApiProcess.StartAsync(TracingTo(receiver));

        using var response = await sample.Client.GetAsync("/api/boom");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);
        var completion = await sample.App.WaitForCompletionEventAsync(requestId);
        var spanId = completion.StringProperty("@sp");

        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => s.SpanId == spanId));
        var server = Assert.Single(spans, s => s.SpanId == spanId);
        Assert.Equal(completion.StringProperty("@tr"), server.TraceId);
        Assert.Equal("GET /api/boom", server.Name);
        Assert.Equal(Status.Types.StatusCode.Error, server.Status);
        var exception = Assert.Single(server.Events, e => e.Name == "exception");
        Assert.Equal(typeof(InvalidOperationException).FullName, exception.Attributes["exception.type"]);
        Assert.Contains("Boom", (string?)exception.Attributes["exception.message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Over_grpc_the_default_protocol_a_request_and_its_sql_arrive_with_the_ids_of_its_log_line()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = TracingTo(receiver);
        environment["Observability__Otlp__Endpoint"] = receiver.GrpcEndpoint;
        environment["Observability__Otlp__Protocol"] = null;
        await using var sample = await SampleApiProcess.StartAsync(environment);

        using var response = await sample.Client.GetAsync("/api/items");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = await sample.App.WaitForCompletionEventAsync(response.SingleHeader(ClefEvents.RequestIdHeader));
        var spanId = completion.StringProperty("@sp");

        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => s.SpanId == spanId) && all.Any(s => s.ParentSpanId == spanId));
        var server = Assert.Single(spans, s => s.SpanId == spanId);
        Assert.Equal(completion.StringProperty("@tr"), server.TraceId);
        Assert.Equal("GET /api/items", server.Name);
        Assert.Contains(spans, s => s.ParentSpanId == spanId && s.Scope == EfCoreScope && s.Attribute("db.query.text")?.Contains("FROM \"Items\"", StringComparison.Ordinal) == true);
        Assert.True(receiver.GrpcExports > 0, "The spans did not come over gRPC.");
        Assert.Empty(receiver.Rejected);

        Assert.True(await BrokenCollectorTests.WaitForCounterAsync(sample, "otlp_spans_exported_total") >= spans.Count);
        Assert.Contains("\notlp_spans_dropped_total 0\n", await sample.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http/protobuf")]
    [InlineData("grpc")]
    public async Task Configured_headers_reach_the_collector_and_no_log_line_shows_their_values(string protocol)
    {
        // A '%' and a space: the exporter URL-decodes header text, and the configured value must still arrive unchanged.
        const string Secret = "hc-7f3a%41 9e1b-api-key";
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = TracingTo(receiver, protocol);
        environment["Observability__Otlp__Endpoint"] = protocol == "grpc" ? receiver.GrpcEndpoint : receiver.Endpoint;
        environment["Observability__Otlp__Headers__x-honeycomb-team"] = Secret;
        environment["Observability__Otlp__Logs"] = "true";
        await using var sample = await SampleApiProcess.StartAsync(environment);

        var spanId = await RequestSpanIdAsync(sample, "/api/items");
        await receiver.WaitForSpansAsync(all => all.Any(s => s.SpanId == spanId));
        await receiver.WaitForLogRecordsAsync(all => all.Count > 0);

        // Span and log exports alike carry the value exactly as configured.
        Assert.True(receiver.LogExports > 0);
        Assert.All(receiver.ExportHeaders, h => Assert.Equal(Secret, h["x-honeycomb-team"]));
        Assert.Contains(sample.App.JsonLines(), e => e.TryGetProperty("EventId", out var id) && id.StringProperty("Name") == "TracingEnabled");
        Assert.DoesNotContain(Secret, sample.App.OutputDump, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_standard_otel_exporter_otlp_endpoint_alone_turns_tracing_on_and_gets_the_signal_path()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = TracingTo(receiver);
        environment["Observability__Otlp__Endpoint"] = null;
        environment["Observability__Otlp__Protocol"] = null;
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint + "/";
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        await using var sample = await SampleApiProcess.StartAsync(environment);

        var spanId = await RequestSpanIdAsync(sample, "/api/items");
        await receiver.WaitForSpansAsync(all => all.Any(s => s.SpanId == spanId));
        Assert.Empty(receiver.Rejected);
    }

    [Fact]
    public async Task Observability_otlp_endpoint_wins_over_the_standard_variable()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var other = await OtlpReceiver.StartAsync();
        var environment = TracingTo(receiver);
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = other.Endpoint;
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
        await using var sample = await SampleApiProcess.StartAsync(environment);

        var spanId = await RequestSpanIdAsync(sample, "/api/items");
        await receiver.WaitForSpansAsync(all => all.Any(s => s.SpanId == spanId));
        Assert.Empty(other.Spans);
        Assert.Empty(other.Rejected);
    }

    [Fact]
    public async Task Otel_service_name_is_the_service_name_of_the_spans_when_observability_sets_none()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        // A content root of its own: the test's output folder holds the sample's appsettings.json, which names the service.
        using var contentRoot = TempDirectory.Create("obs-otlp");
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Staging",
            ApplicationName = typeof(OtlpTraceExportTests).Assembly.GetName().Name,
            ContentRootPath = contentRoot.Path,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Observability:Otlp:Endpoint"] = receiver.Endpoint,
            ["Observability:Otlp:Protocol"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "orders-api",
            ["OTEL_RESOURCE_ATTRIBUTES"] = "service.namespace=shop,service.name=ignored",
            ["Serilog:MinimumLevel:Default"] = "Fatal",
        });
        builder.AddObservability();
        await using var app = builder.Build();
        app.UseObservability();
        app.MapGet("/api/ping", () => "pong");
        await app.StartAsync();
        using var client = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        using var response = await client.GetAsync("/api/ping");
        var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);
        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => s.Attribute("request.id") == requestId));
        var server = Assert.Single(spans, s => s.Attribute("request.id") == requestId);
        Assert.Equal("orders-api", server.Resource["service.name"]);
        Assert.Equal("shop", server.Resource["service.namespace"]);
        Assert.Equal("Staging", server.Resource["deployment.environment.name"]);
        await app.StopAsync();
    }

    internal static async Task<string> RequestSpanIdAsync(SampleApiProcess sample, string path)
    {
        using var response = await sample.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var completion = await sample.App.WaitForCompletionEventAsync(response.SingleHeader(ClefEvents.RequestIdHeader));
        return completion.StringProperty("@sp") ?? throw new InvalidOperationException($"No @sp:\n{completion}");
    }

    /// <summary>The completion event of the request to <paramref name="path"/>: a call the app makes to itself carries the same request ID.</summary>
    private static async Task<JsonElement> WaitForCompletionEventAsync(AppProcess app, string requestId, string path)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var found = app.CompletionEventsOf(requestId).Where(e => e.StringProperty("RequestPath") == path).ToList();
            if (found.Count > 0)
            {
                return Assert.Single(found);
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"No completion event for {path} with RequestId {requestId}.\n{app.OutputDump}");
            await Task.Delay(25);
        }
    }
}
