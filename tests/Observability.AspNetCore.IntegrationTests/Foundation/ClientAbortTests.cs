using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// A client that gives up (a mobile app going to the background, a proxy timeout) is routine, not a server error:
/// on real Kestrel the connection really closes, and the handler's cancellation really throws.
/// </summary>
public sealed class ClientAbortTests
{
    [Fact]
    public async Task Request_aborted_by_the_client_is_logged_as_aborted_and_not_as_an_error()
    {
        await using var sample = await SampleApiProcess.StartAsync();

        // The client never sees response headers, so it names the request itself (a valid incoming ID is kept).
        var requestId = $"abort-{Guid.NewGuid():N}";
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/slow?ms=10000");
        request.Headers.Add(ClefEvents.RequestIdHeader, requestId);
        using var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sample.Client.SendAsync(request, giveUp.Token));

        // Far less than the 10 s the handler would wait: the abort reached the server and ended the request.
        var completion = await sample.App.WaitForCompletionEventAsync(requestId, TimeSpan.FromSeconds(5));
        Assert.Equal(0, await sample.App.StopWithSigtermAsync());

        Assert.NotEqual("Error", completion.Level());
        Assert.True(completion.TryGetProperty("Aborted", out var aborted) && aborted.GetBoolean(), $"Aborted must be true:\n{completion}");
        Assert.False(completion.TryGetProperty("@x", out _), $"An abort is not an exception to report:\n{completion}");
        var errors = sample.App.JsonLines().Where(e => e.IsError()).ToList();
        Assert.True(errors.Count == 0, $"No Error event expected:\n{string.Join('\n', errors)}");
    }
}
