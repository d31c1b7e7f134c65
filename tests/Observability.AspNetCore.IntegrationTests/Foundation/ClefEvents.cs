using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// Reads a process's stdout the way a log shipper reads CLEF: one JSON object per line, <c>@l</c> absent meaning
/// Information, the completion event recognised by its event name.
/// </summary>
internal static class ClefEvents
{
    public const string CompletionEventName = "RequestCompleted";
    public const string RequestIdHeader = "X-Request-ID";

    /// <summary>A string property, or null when it is absent or not a string.</summary>
    public static string? StringProperty(this JsonElement logEvent, string name) => logEvent.Str(name);

    public static bool IsError(this JsonElement logEvent) => logEvent.Level() is "Error" or "Fatal";

    public static bool IsCompletionEvent(this JsonElement logEvent) => logEvent.IsCompletion();

    public static bool HasRequestId(this JsonElement logEvent, string requestId) => logEvent.StringProperty("RequestId") == requestId;

    /// <summary>Every event of the request, in order.</summary>
    public static IReadOnlyList<JsonElement> EventsOf(this AppProcess app, string requestId) =>
        app.JsonLines().Where(e => e.HasRequestId(requestId)).ToList();

    /// <summary>The completion events written for the request (exactly one is the contract).</summary>
    public static IReadOnlyList<JsonElement> CompletionEventsOf(this AppProcess app, string requestId) =>
        app.JsonLines().Where(e => e.IsCompletionEvent() && e.HasRequestId(requestId)).ToList();

    /// <summary>
    /// Waits for the request's completion event. Needed because the middleware writes it after the response body has
    /// gone out, and stdout is read asynchronously: the client can hold the response before the line is captured.
    /// </summary>
    public static async Task<JsonElement> WaitForCompletionEventAsync(this AppProcess app, string requestId, TimeSpan? timeout = null)
    {
        var limit = timeout ?? Poll.DefaultTimeout;
        var events = await Poll.UntilAsync(
            () => app.CompletionEventsOf(requestId),
            found => found.Count > 0,
            _ => $"No completion event with RequestId {requestId} within {limit.TotalSeconds:0.#} s.\n{app.OutputDump}",
            limit,
            intervalMs: 25);
        return events[0];
    }

    /// <summary>The single value of a response header, failing with the headers when it is missing or repeated.</summary>
    public static string SingleHeader(this HttpResponseMessage response, string name)
    {
        Assert.True(
            response.Headers.TryGetValues(name, out var values),
            $"The response has no {name} header. Headers:\n{response.Headers}");
        return Assert.Single(values);
    }

    /// <summary>Sends SIGTERM and waits for a clean exit, so that the captured stdout is complete for assertions.</summary>
    public static async Task<int> StopWithSigtermAsync(this AppProcess app)
    {
        await app.SendSigtermAsync();
        return await app.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }
}
