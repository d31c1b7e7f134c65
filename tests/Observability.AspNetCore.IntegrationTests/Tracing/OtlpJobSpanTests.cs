using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Foundation;
using OpenTelemetry.Proto.Trace.V1;

namespace Observability.AspNetCore.IntegrationTests.Tracing;

/// <summary>
/// A background job enqueued by a request gets a trace of its own, linked to the request's span (OpenTelemetry's
/// messaging conventions), so the request's trace ends when the request does.
/// </summary>
public sealed class OtlpJobSpanTests
{
    [Fact]
    public async Task A_job_run_is_a_root_span_linked_to_the_enqueuing_request_and_its_log_lines_carry_its_ids()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var sample = await SampleApiProcess.StartAsync(OtlpTraceExportTests.TracingTo(receiver));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs/fail");
        request.Headers.Add(ClefEvents.RequestIdHeader, "traced-job-1");
        using var response = await sample.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        var enqueued = await WaitForAsync(sample, e => e.IsCompletionEvent() && e.HasRequestId("traced-job-1"));
        var run = await WaitForAsync(sample, e =>
            e.TryGetProperty("EventId", out var id) && id.StringProperty("Name") == "JobRunCompleted" && e.HasRequestId("traced-job-1"));
        var requestTrace = enqueued.StringProperty("@tr");
        var requestSpan = enqueued.StringProperty("@sp");
        var runTrace = run.StringProperty("@tr");
        var runSpan = run.StringProperty("@sp");

        var spans = await receiver.WaitForSpansAsync(all => all.Any(s => s.SpanId == runSpan) && all.Any(s => s.SpanId == requestSpan));
        var job = Assert.Single(spans, s => s.SpanId == runSpan);

        Assert.Equal(runTrace, job.TraceId);
        Assert.NotEqual(requestTrace, job.TraceId);
        Assert.Null(job.ParentSpanId);
        Assert.Equal("process fail", job.Name);
        Assert.Equal(Span.Types.SpanKind.Consumer, job.Kind);
        Assert.Equal("Observability.AspNetCore.Jobs", job.Scope);
        Assert.Equal("fail", job.Attribute("job.name"));
        Assert.Equal(run.StringProperty("JobRunId"), job.Attribute("job.run_id"));
        Assert.Equal("traced-job-1", job.Attribute("request.id"));
        Assert.Equal(Status.Types.StatusCode.Error, job.Status);
        Assert.Contains(job.Events, e => e.Name == "exception");
        var link = Assert.Single(job.Links);
        Assert.Equal(requestTrace, link.TraceId);
        Assert.Equal(requestSpan, link.SpanId);
    }

    private static async Task<JsonElement> WaitForAsync(SampleApiProcess sample, Func<JsonElement, bool> predicate)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (sample.App.JsonLines().FirstOrDefault(predicate) is { ValueKind: JsonValueKind.Object } found)
            {
                return found;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), sample.App.OutputDump);
            await Task.Delay(50);
        }
    }
}
