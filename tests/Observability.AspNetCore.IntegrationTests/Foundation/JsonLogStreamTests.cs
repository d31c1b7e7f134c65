using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// What a log shipper reading the real process's stdout gets: nothing but CLEF lines, and for each request one
/// completion event that can be joined to the response by its request ID.
/// </summary>
public sealed class JsonLogStreamTests
{
    private sealed record Call(string Description, HttpStatusCode Status, string RequestId, string? Route);

    [Fact]
    public async Task Every_stdout_line_is_clef_and_every_request_has_a_completion_event_joined_to_its_response()
    {
        await using var sample = await SampleApiProcess.StartAsync();
        var client = sample.Client;

        // Every endpoint of the sample, its error paths and an unmatched path: each writes through a different part
        // of the framework (EF Core, the status-code-pages middleware, the exception path), any of which could print
        // something of its own.
        var calls = new List<Call>();
        async Task CallAsync(HttpRequestMessage request, HttpStatusCode expected, string? route)
        {
            var description = $"{request.Method} {request.RequestUri}";
            using var response = await client.SendAsync(request);
            Assert.True(expected == response.StatusCode, $"{description}: expected {expected}, got {response.StatusCode}");
            calls.Add(new Call(description, response.StatusCode, response.SingleHeader(ClefEvents.RequestIdHeader), route));
        }

        await CallAsync(new(HttpMethod.Get, "/"), HttpStatusCode.OK, "/");
        await CallAsync(new(HttpMethod.Get, "/api/items"), HttpStatusCode.OK, "/api/items");
        await CallAsync(new(HttpMethod.Get, "/api/items/1"), HttpStatusCode.OK, "/api/items/{id:int}");
        await CallAsync(
            new(HttpMethod.Post, "/api/items") { Content = JsonContent.Create(new { name = "Sprocket", price = 3.25m }) },
            HttpStatusCode.Created,
            "/api/items");
        await CallAsync(new(HttpMethod.Get, "/api/items/987654"), HttpStatusCode.NotFound, "/api/items/{id:int}");
        await CallAsync(new(HttpMethod.Get, "/api/cache/k"), HttpStatusCode.OK, "/api/cache/{key}");
        await CallAsync(new(HttpMethod.Get, "/api/slow?ms=10"), HttpStatusCode.OK, "/api/slow");
        await CallAsync(new(HttpMethod.Get, "/api/db/slow?ms=10"), HttpStatusCode.OK, "/api/db/slow");
        await CallAsync(new(HttpMethod.Get, "/api/boom"), HttpStatusCode.InternalServerError, "/api/boom");
        await CallAsync(new(HttpMethod.Get, "/no/such/path"), HttpStatusCode.NotFound, route: null);

        // Stop the app so the lines of the whole run are judged, shutdown messages included.
        Assert.Equal(0, await sample.App.StopWithSigtermAsync());

        var stdout = sample.App.StdoutLines;
        Assert.NotEmpty(stdout);
        foreach (var line in stdout)
        {
            var logEvent = ParseObject(line);
            Assert.True(
                logEvent.TryGetProperty("@t", out _) && logEvent.TryGetProperty("@mt", out _),
                $"A stdout line lacks the CLEF @t/@mt fields:\n{line}");
        }

        foreach (var call in calls)
        {
            var completion = Assert.Single(sample.App.CompletionEventsOf(call.RequestId));
            var context = $"{call.Description}, completion event:\n{completion}";
            Assert.True((int)call.Status == completion.GetProperty("StatusCode").GetInt32(), context);
            Assert.True(completion.StringProperty("ClientIp") == "127.0.0.1", context);
            Assert.True(completion.StringProperty("Service") == "sample-api", context);
            Assert.True(completion.StringProperty("Environment") == "Production", context);
            if (call.Route is null)
            {
                Assert.False(completion.TryGetProperty("Route", out _), $"An unmatched request must have no Route. {context}");
            }
            else
            {
                Assert.True(completion.StringProperty("Route") == call.Route, context);
            }
        }
    }

    private static JsonElement ParseObject(string line)
    {
        try
        {
            using var document = JsonDocument.Parse(line);
            Assert.True(document.RootElement.ValueKind == JsonValueKind.Object, $"A stdout line is JSON but not an object:\n{line}");
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            Assert.Fail($"A stdout line is not JSON (another logging provider, or a stray Console.WriteLine?):\n{line}");
            throw;
        }
    }
}
