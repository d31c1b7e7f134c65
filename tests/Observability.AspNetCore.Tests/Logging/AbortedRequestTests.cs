using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Logging;

/// <summary>
/// A request the client abandoned while the handler also failed (a database timeout as the client gives up) is an
/// aborted request with an exception: Warning with <c>@x</c>, never a 500, in whichever order the two happened.
/// </summary>
public sealed class AbortedRequestTests
{
    private const string AbortedTemplate = "{RequestMethod} {RequestPath} aborted by the client after {Elapsed} ms";

    [Fact]
    public async Task Client_aborts_then_handler_throws_is_an_aborted_warning_with_the_exception_not_a_500()
    {
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(a => a.MapGet("/orders", async (HttpContext ctx) =>
        {
            // A driver call that fails on its own timeout just as the client gives up, not with the request's cancellation.
            var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (ctx.RequestAborted.Register(static s => ((TaskCompletionSource)s!).SetResult(), aborted))
            {
                waiting.SetResult();
                await aborted.Task;
            }

            throw new TimeoutException("database timeout after 30 s");
        }));

        var e = await SendAndAbortAsync(app, "/orders", "abort-then-throw", waiting.Task);

        AssertAbortedWarningWithException(e, "database timeout after 30 s");
        Assert.Equal(200, e.GetProperty("StatusCode").GetInt32());
        await AssertNotCountedAs500Async(app, "/orders");
    }

    [Fact]
    public async Task Handler_throws_then_client_aborts_is_an_aborted_warning_with_the_exception_not_a_500()
    {
        var writing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(
            a => a.MapGet("/orders", string () => throw new TimeoutException("database timeout after 30 s")),
            configureBuilder: b => b.Services.AddSingleton<IProblemDetailsService>(new SlowProblemDetails(writing)));

        var e = await SendAndAbortAsync(app, "/orders", "throw-then-abort", writing.Task);

        AssertAbortedWarningWithException(e, "database timeout after 30 s");
        Assert.Equal(200, e.GetProperty("StatusCode").GetInt32());
        await AssertNotCountedAs500Async(app, "/orders");
    }

    [Theory]
    [InlineData("cancelled")]
    [InlineData("wrapped")]
    public async Task Client_aborts_and_handler_sees_only_the_cancellation_stays_information_without_exception(string kind)
    {
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var app = await TestApp.StartAsync(a => a.MapGet("/orders", async (HttpContext ctx) =>
        {
            try
            {
                waiting.SetResult();
                await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted);
            }
            catch (OperationCanceledException oce) when (kind == "wrapped")
            {
                // How a data layer often reports a cancelled command: its own exception around the cancellation.
                throw new InvalidOperationException("An exception occurred while iterating over the results", oce);
            }

            return "unreachable";
        }));

        var e = await SendAndAbortAsync(app, "/orders", $"abort-{kind}", waiting.Task);

        Assert.Equal("Information", e.Level());
        Assert.Equal(AbortedTemplate, e.Str("@mt"));
        Assert.True(e.GetProperty("Aborted").GetBoolean());
        Assert.False(e.Has("@x"));
    }

    [Fact]
    public async Task Handler_failing_after_the_response_started_is_an_error_the_server_aborted_not_the_client()
    {
        await using var app = await TestApp.StartAsync(a => a.MapGet("/export", async (HttpContext ctx) =>
        {
            await ctx.Response.WriteAsync("first rows\n");
            await ctx.Response.Body.FlushAsync();
            throw new InvalidOperationException("export failed half way");
        }));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/export");
        request.Headers.Add("X-Request-ID", "half-response");

        try
        {
            using var response = await app.Client.SendAsync(request);
            await response.Content.ReadAsStringAsync();
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            // The connection was reset under the client: that is the point.
        }

        var e = await app.CompletionEventAsync("half-response");

        Assert.Equal("Error", e.Level());
        Assert.Contains("export failed half way", e.Str("@x"), StringComparison.Ordinal);
        Assert.False(e.Has("Aborted"), $"the server reset the connection, the client did not abort:\n{e}");
        Assert.NotEqual(AbortedTemplate, e.Str("@mt"));
    }

    private static async Task<JsonElement> SendAndAbortAsync(TestApp app, string path, string requestId, Task abortWhen)
    {
        using var cts = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Request-ID", requestId);
        var sending = app.Client.SendAsync(request, cts.Token);
        await abortWhen.WaitAsync(TimeSpan.FromSeconds(10));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        return await app.CompletionEventAsync(requestId);
    }

    private static void AssertAbortedWarningWithException(JsonElement e, string message)
    {
        Assert.Equal("Warning", e.Level());
        Assert.Equal(AbortedTemplate, e.Str("@mt"));
        Assert.True(e.GetProperty("Aborted").GetBoolean());
        Assert.NotEqual(500, e.GetProperty("StatusCode").GetInt32());
        Assert.Contains(message, e.Str("@x"), StringComparison.Ordinal);
    }

    private static async Task AssertNotCountedAs500Async(TestApp app, string route)
    {
        var samples = Exposition.Parse(await app.Client.GetStringAsync("/metrics"));
        Assert.Equal(1, samples.Value("http_requests_total", ("endpoint", route)));
        Assert.Equal(0, samples.Value("http_requests_total", ("endpoint", route), ("status", "500")));
        Assert.Equal(1, samples.Value("http_request_exceptions_total", ("endpoint", route), ("exception", nameof(TimeoutException))));
    }

    /// <summary>An app's problem-details writer that is still busy when the client goes away (a slow enrichment, say).</summary>
    private sealed class SlowProblemDetails(TaskCompletionSource writing) : IProblemDetailsService
    {
        public async ValueTask WriteAsync(ProblemDetailsContext context)
        {
            if (!await TryWriteAsync(context))
            {
                throw new InvalidOperationException("not written");
            }
        }

        public async ValueTask<bool> TryWriteAsync(ProblemDetailsContext context)
        {
            var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (context.HttpContext.RequestAborted.Register(static s => ((TaskCompletionSource)s!).SetResult(), aborted))
            {
                writing.SetResult();
                await aborted.Task;
            }

            // Declined: the library writes its own problem+json, to a client that is gone.
            return false;
        }
    }
}
