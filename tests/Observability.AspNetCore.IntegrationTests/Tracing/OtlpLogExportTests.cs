using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using Observability.AspNetCore.IntegrationTests.Foundation;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using OpenTelemetry.Proto.Logs.V1;
using Xunit.Abstractions;

namespace Observability.AspNetCore.IntegrationTests.Tracing;

/// <summary>
/// Logs over OTLP (<c>Observability:Otlp:Logs</c>): the sample run as a real process, exporting to a receiver that
/// decodes OTLP log records as a collector does, over both protocols; what a logs backend would show.
/// </summary>
public sealed class OtlpLogExportTests(ITestOutputHelper output)
{
    private const string CompletionScope = "Observability.AspNetCore.RequestLogging";

    private static Dictionary<string, string?> LogsTo(OtlpReceiver receiver, string protocol)
    {
        var environment = OtlpTraceExportTests.TracingTo(receiver, protocol);
        environment["Observability__Otlp__Endpoint"] = protocol == "grpc" ? receiver.GrpcEndpoint : receiver.Endpoint;
        environment["Observability__Otlp__Logs"] = "true";
        environment["OTEL_BLRP_SCHEDULE_DELAY"] = "200";
        environment["OTEL_LOGS_EXPORTER"] = null;
        return environment;
    }

    [Theory]
    [InlineData("http/protobuf")]
    [InlineData("grpc")]
    public async Task A_request_s_completion_event_and_app_event_arrive_as_log_records_with_its_trace_id_and_request_id(string protocol)
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var sample = await SampleApiProcess.StartAsync(LogsTo(receiver, protocol));

        using var response = await sample.Client.PostAsJsonAsync("/api/items", new { name = "Sprocket", price = 3.5m });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);
        var completion = await sample.App.WaitForCompletionEventAsync(requestId);
        var traceId = completion.StringProperty("@tr");
        Assert.False(string.IsNullOrEmpty(traceId), $"The completion event has no @tr:\n{completion}");

        var records = await receiver.WaitForLogRecordsAsync(all =>
            all.Any(r => r.Scope == CompletionScope && r.Attribute("RequestId") == requestId)
            && all.Any(r => r.Attribute("ItemId") is not null && r.Attribute("RequestId") == requestId));
        output.WriteLine(completion.ToString());
        foreach (var record in records.Where(r => r.Attribute("RequestId") == requestId))
        {
            output.WriteLine(record.ToString());
        }

        output.WriteLine("resource: " + string.Join(", ", records[0].Resource.Select(a => $"{a.Key}={a.Value}")));

        // The completion event, although its stdout line skips Serilog, is exported with the request's trace context.
        var exported = Assert.Single(records, r => r.Scope == CompletionScope && r.Attribute("RequestId") == requestId);
        Assert.Equal(traceId, exported.TraceId);
        Assert.Equal(completion.StringProperty("@sp"), exported.SpanId);
        Assert.Equal(SeverityNumber.Info, exported.Severity);
        Assert.Equal("Information", exported.SeverityText);
        Assert.Equal("{RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed} ms", exported.Attribute("message_template.text"));
        Assert.StartsWith("POST /api/items responded 201 in ", exported.Body, StringComparison.Ordinal);
        Assert.Equal("201", exported.Attribute("StatusCode"));
        Assert.Equal("/api/items", exported.Attribute("Route"));
        Assert.Equal(completion.GetProperty("Elapsed").GetDouble(), Convert.ToDouble(exported.Attributes["Elapsed"], CultureInfo.InvariantCulture));

        // An event the app logs inside the request carries the same trace and request ID.
        var appEvent = Assert.Single(records, r => r.Attribute("ItemId") is not null && r.Attribute("RequestId") == requestId);
        Assert.Equal(traceId, appEvent.TraceId);
        Assert.Equal("Created item {ItemId}", appEvent.Attribute("message_template.text"));

        // One identity: the resource names the service the log lines name.
        Assert.Equal("sample-api", exported.Resource["service.name"]);
        Assert.Equal(completion.StringProperty("Service"), exported.Resource["service.name"]);
        Assert.Equal(completion.StringProperty("Version"), exported.Resource["service.version"]);
        Assert.Equal("Production", exported.Resource["deployment.environment.name"]);

        Assert.Empty(receiver.Rejected);
        if (protocol == "grpc")
        {
            Assert.True(receiver.GrpcExports >= receiver.LogExports, "The log records did not come over gRPC.");
        }

        // What was sent is counted as exported, nothing as dropped.
        await BrokenCollectorTests.WaitForCounterAsync(sample, "otlp_log_records_exported_total", records.Count);
        Assert.Contains("\notlp_log_records_dropped_total 0\n", await sample.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_logs_off_an_endpoint_set_for_traces_gets_spans_and_no_log_record()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var sample = await SampleApiProcess.StartAsync(OtlpTraceExportTests.TracingTo(receiver));

        var spanId = await OtlpTraceExportTests.RequestSpanIdAsync(sample, "/api/items");
        await receiver.WaitForSpansAsync(all => all.Any(s => s.SpanId == spanId));

        // Spans leave every 200 ms here; log records, were they on, would leave with the first event and then every second.
        await Task.Delay(1500);
        Assert.Equal(0, receiver.LogExports);
        Assert.Empty(receiver.LogRecords);
        Assert.Empty(receiver.Rejected);
    }

    [Fact]
    public async Task The_standard_otel_logs_exporter_variable_turns_logs_on_and_the_setting_wins_over_it()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var environment = LogsTo(receiver, "http/protobuf");
        environment["Observability__Otlp__Logs"] = null;
        environment["OTEL_LOGS_EXPORTER"] = "otlp";
        await using (var on = await SampleApiProcess.StartAsync(environment))
        {
            using var response = await on.Client.GetAsync("/api/items");
            var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);
            await receiver.WaitForLogRecordsAsync(all => all.Any(r => r.Attribute("RequestId") == requestId));
        }

        await using var otherReceiver = await OtlpReceiver.StartAsync();
        environment = LogsTo(otherReceiver, "http/protobuf");
        environment["Observability__Otlp__Logs"] = "false";
        environment["OTEL_LOGS_EXPORTER"] = "otlp";
        await using var off = await SampleApiProcess.StartAsync(environment);
        var spanId = await OtlpTraceExportTests.RequestSpanIdAsync(off, "/api/items");
        await otherReceiver.WaitForSpansAsync(all => all.Any(s => s.SpanId == spanId));
        await Task.Delay(1500);
        Assert.Equal(0, otherReceiver.LogExports);
    }

    [Theory]
    [InlineData("refused", "http/protobuf")]
    [InlineData("silent", "http/protobuf")]
    [InlineData("silent", "grpc")]
    public async Task A_broken_logs_collector_costs_requests_nothing_is_counted_and_shutdown_stays_bounded(string kind, string protocol)
    {
        const int ExporterTimeoutMs = 1000;
        using var silent = new SilentListener();
        var endpoint = kind == "silent" ? $"http://127.0.0.1:{silent.Port}" : $"http://127.0.0.1:{FreePort.Next()}";
        await using var sample = await SampleApiProcess.StartAsync(new Dictionary<string, string?>
        {
            ["Observability__Otlp__Endpoint"] = endpoint,
            ["Observability__Otlp__Protocol"] = protocol,
            ["Observability__Otlp__Logs"] = "true",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "100",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "100",
            // Small batches, so that many wait behind a collector that never answers: each would get a full timeout.
            ["OTEL_BLRP_MAX_EXPORT_BATCH_SIZE"] = "4",
            ["OTEL_EXPORTER_OTLP_TIMEOUT"] = ExporterTimeoutMs.ToString(CultureInfo.InvariantCulture),
        });

        for (var i = 0; i < 40; i++)
        {
            using var response = await sample.Client.GetAsync(i % 2 == 0 ? "/api/items" : "/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await sample.App.WaitForCompletionEventAsync(response.SingleHeader(ClefEvents.RequestIdHeader));
            await Task.Delay(20);
        }

        // What an operator sees: the lost records counted on /metrics, and one Warning naming the collector.
        Assert.True(await BrokenCollectorTests.WaitForCounterAsync(sample, "otlp_log_records_dropped_total") > 0);
        Assert.Contains("\notlp_log_records_exported_total 0\n", await sample.Client.GetStringAsync("/metrics"), StringComparison.Ordinal);
        var warning = Assert.Single(sample.App.JsonLines(), e => e.TryGetProperty("EventId", out var id) && id.StringProperty("Name") == "OtlpLogExportFailed");
        Assert.Equal("Warning", warning.Level());
        Assert.StartsWith(endpoint, warning.StringProperty("OtlpEndpoint"), StringComparison.Ordinal);
        Assert.True(warning.GetProperty("DroppedLogRecords").GetInt64() > 0, warning.ToString());

        var clock = Stopwatch.StartNew();
        var exitCode = await sample.App.StopWithSigtermAsync();
        output.WriteLine($"{kind}/{protocol}: stopped in {clock.ElapsedMilliseconds} ms");
        Assert.Equal(0, exitCode);

        // Spans and log records share one bound after the app stops: the host's own shutdown plus one exporter timeout.
        Assert.True(clock.Elapsed < TimeSpan.FromMilliseconds(ExporterTimeoutMs + 2500), $"Shutdown took {clock.ElapsedMilliseconds} ms.\n{sample.App.OutputDump}");
    }
}
