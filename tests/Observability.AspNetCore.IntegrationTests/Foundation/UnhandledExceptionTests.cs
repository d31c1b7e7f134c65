using System.Net;
using System.Text.Json;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// An exception escaping a handler on real Kestrel (not TestServer, which handles exceptions its own way): what the
/// client gets, what the log gets, and whether the server itself logs the exception a second time.
/// </summary>
public sealed class UnhandledExceptionTests
{
    [Fact]
    public async Task Unhandled_exception_answers_500_problem_json_with_the_request_id_and_no_stack_trace()
    {
        await using var sample = await SampleApiProcess.StartAsync();

        using var response = await sample.Client.GetAsync("/api/boom");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);
        var body = await response.Content.ReadAsStringAsync();
        using var problem = JsonDocument.Parse(body);
        Assert.Equal(requestId, problem.RootElement.StringProperty("requestId"));
        Assert.Equal(500, problem.RootElement.GetProperty("status").GetInt32());

        // Internals are for the log, not for whoever called the API.
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        Assert.DoesNotContain("Boom:", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
        Assert.DoesNotContain("DiagnosticsEndpoints", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unhandled_exception_is_logged_once_at_error_and_kestrel_logs_no_error_of_its_own()
    {
        await using var sample = await SampleApiProcess.StartAsync();

        using var response = await sample.Client.GetAsync("/api/boom");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var requestId = response.SingleHeader(ClefEvents.RequestIdHeader);
        await sample.App.WaitForCompletionEventAsync(requestId);

        // The whole run, shutdown included: a server-level "unhandled exception" event could come at any point.
        Assert.Equal(0, await sample.App.StopWithSigtermAsync());

        var withException = sample.App.EventsOf(requestId).Where(e => e.TryGetProperty("@x", out _)).ToList();
        var logged = Assert.Single(withException);
        Assert.Equal("Error", logged.Level());
        Assert.Contains("InvalidOperationException", logged.StringProperty("@x"), StringComparison.Ordinal);

        var errors = sample.App.JsonLines().Where(e => e.IsError()).ToList();
        Assert.True(errors.Count == 1, $"Expected the one Error event of the request, found {errors.Count}:\n{string.Join('\n', errors)}");
    }

    [Fact]
    public async Task App_answers_the_next_request_after_an_unhandled_exception()
    {
        await using var sample = await SampleApiProcess.StartAsync();

        using (var boom = await sample.Client.GetAsync("/api/boom"))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, boom.StatusCode);
        }

        // Same client, so most likely the same keep-alive connection: it must not have been left broken.
        using var next = await sample.Client.GetAsync("/api/slow?ms=1");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
    }
}
