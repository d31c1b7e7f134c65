using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// A caller's W3C trace context must survive into the log of the real process, so that a log backend can join this
/// service's events to the caller's trace: in CLEF's own field, once, not also as ad-hoc properties.
/// </summary>
public sealed class TraceContextTests
{
    [Fact]
    public async Task Incoming_traceparent_is_the_trace_id_of_every_event_of_the_request()
    {
        await using var sample = await SampleApiProcess.StartAsync();
        var traceId = ActivityTraceId.CreateRandom().ToHexString();
        var parentSpanId = ActivitySpanId.CreateRandom().ToHexString();

        // POST, because it writes the app's own "Created item" event besides the completion event.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/items")
        {
            Content = JsonContent.Create(new { name = "Traced", price = 1m }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{parentSpanId}-01");
        using var response = await sample.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);
        await sample.App.WaitForCompletionEventAsync(requestId);

        var events = sample.App.EventsOf(requestId);
        Assert.Contains(events, e => e.StringProperty("@mt") == "Created item {ItemId}");
        Assert.True(events.Count >= 2, $"Expected the app's event and the completion event:\n{string.Join('\n', events)}");
        foreach (var logEvent in events)
        {
            Assert.True(logEvent.StringProperty("@tr") == traceId, $"@tr must be the incoming trace id {traceId}:\n{logEvent}");
            foreach (var duplicate in new[] { "TraceId", "SpanId", "ParentId" })
            {
                Assert.False(logEvent.TryGetProperty(duplicate, out _), $"{duplicate} duplicates the trace context:\n{logEvent}");
            }
        }
    }
}
