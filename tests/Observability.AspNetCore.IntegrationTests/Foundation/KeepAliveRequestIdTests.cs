using System.Net;
using System.Text.Json;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// The request ID lives in the server's per-request identifier feature, and Kestrel reuses a connection's request
/// objects for the next request: on real Kestrel, every request on one keep-alive connection must get its own ID,
/// in its header, its problem body (<c>TraceIdentifier</c>) and its completion event.
/// </summary>
public sealed class KeepAliveRequestIdTests
{
    [Fact]
    public async Task Each_request_on_one_keep_alive_connection_gets_its_own_request_id()
    {
        await using var sample = await SampleApiProcess.StartAsync();
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        using var client = new HttpClient(handler) { BaseAddress = sample.Client.BaseAddress };

        // Incoming, none, none, incoming: a kept or generated ID must not leak into the next request on the connection.
        string?[] incoming = ["keepalive-first-0001", null, null, "keepalive-last-0004"];
        var seen = new List<string>();
        foreach (var id in incoming)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/items/987654");
            if (id is not null)
            {
                request.Headers.Add(ClefEvents.RequestIdHeader, id);
            }

            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);
            if (id is not null)
            {
                Assert.Equal(id, requestId);
            }

            using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            Assert.Equal(requestId, problem.RootElement.StringProperty("requestId"));
            var completion = await sample.App.WaitForCompletionEventAsync(requestId);
            Assert.Equal(404, completion.GetProperty("StatusCode").GetInt32());
            seen.Add(requestId);
        }

        Assert.Equal(incoming.Length, seen.Distinct(StringComparer.Ordinal).Count());
    }
}
