using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Sentry;

namespace Observability.AspNetCore.IntegrationTests.ErrorTrackers;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SentrySdkCollection
{
    // The Sentry SDK keeps one process-wide hub: apps using it run one at a time.
    public const string Name = "Sentry SDK";
}

/// <summary>
/// The real Sentry ASP.NET Core SDK wrapped around an app, sending to a stub ingestion endpoint on loopback: what
/// Sentry receives for an unhandled exception, with and without <c>UseObservability()</c>.
/// </summary>
[Collection(SentrySdkCollection.Name)]
public sealed class SentryErrorEventTests
{
    [Fact]
    public async Task Without_the_library_Sentry_receives_one_error_event_for_an_unhandled_exception()
    {
        await using var stub = await SentryStub.StartAsync();

        var (status, _) = await RunAsync(stub, observability: false, "/boom", "baseline-1");

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        var error = Assert.Single(stub.ErrorEvents());
        Assert.Equal("System.InvalidOperationException", ExceptionType(error));
    }

    [Fact]
    public async Task With_the_library_Sentry_receives_exactly_one_error_event_tagged_with_the_request_id()
    {
        await using var stub = await SentryStub.StartAsync();

        var (status, requestId) = await RunAsync(stub, observability: true, "/boom", "sentry-demo-1");

        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("sentry-demo-1", requestId);
        var errors = stub.ErrorEvents();
        Assert.True(errors.Count == 1, $"Expected exactly one error event, got {errors.Count}. Items:\n{Dump(stub)}");
        var error = errors[0];
        Assert.Equal("System.InvalidOperationException", ExceptionType(error));
        Assert.Equal("Boom for Sentry", ExceptionValue(error));
        Assert.True(
            error.TryGetProperty("tags", out var tags) && tags.TryGetProperty("TraceIdentifier", out var traceIdentifier)
                && traceIdentifier.GetString() == "sentry-demo-1",
            $"Expected the TraceIdentifier tag to be the request ID:\n{error}");
    }

    [Fact]
    public async Task With_the_library_two_failing_requests_give_two_error_events_each_with_its_own_request_id()
    {
        await using var stub = await SentryStub.StartAsync();

        await RunAsync(stub, observability: true, "/boom", "sentry-a", "sentry-b");

        var ids = stub.ErrorEvents().Select(e => e.GetProperty("tags").GetProperty("TraceIdentifier").GetString()).Order().ToList();
        Assert.Equal(["sentry-a", "sentry-b"], ids);
    }

    [Fact]
    public async Task With_the_library_an_exception_after_the_response_started_still_reaches_Sentry_once()
    {
        await using var stub = await SentryStub.StartAsync();

        // The middleware resets the connection instead of rethrowing, so the client sees no status.
        await RunAsync(stub, observability: true, "/half", "sentry-half");

        var error = Assert.Single(stub.ErrorEvents());
        Assert.Equal("System.InvalidOperationException", ExceptionType(error));
        Assert.Equal("Boom after the first bytes", ExceptionValue(error));
        Assert.Equal("sentry-half", error.GetProperty("tags").GetProperty("TraceIdentifier").GetString());
    }

    /// <summary>
    /// Starts the app (the library's two lines when <paramref name="observability"/>, Sentry added after them as its
    /// docs show), sends one request to <paramref name="path"/> per ID, flushes the SDK and stops the app.
    /// </summary>
    private static async Task<(HttpStatusCode? Status, string? RequestId)> RunAsync(SentryStub stub, bool observability, string path, params string[] requestIds)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            EnvironmentName = "Production",
            ApplicationName = typeof(SentryErrorEventTests).Assembly.GetName().Name,
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        if (observability)
        {
            builder.AddObservability();
        }

        builder.WebHost.UseSentry(o =>
        {
            o.Dsn = stub.Dsn;
            o.TracesSampleRate = 1.0;
        });

        await using var app = builder.Build();
        if (observability)
        {
            app.UseObservability();
        }

        app.MapGet("/boom", string () => throw new InvalidOperationException("Boom for Sentry"));
        app.MapGet("/half", async (HttpResponse response) =>
        {
            await response.WriteAsync("partial");
            await response.Body.FlushAsync();
            throw new InvalidOperationException("Boom after the first bytes");
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var client = new HttpClient { BaseAddress = new Uri(address) };

        var result = default((HttpStatusCode?, string?));
        foreach (var id in requestIds)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("X-Request-ID", id);
            try
            {
                using var response = await client.SendAsync(request);
                await response.Content.ReadAsStringAsync();
                result = (response.StatusCode, response.Headers.TryGetValues("X-Request-ID", out var values) ? values.Single() : null);
            }
            catch (HttpRequestException)
            {
                result = (null, null);
            }
        }

        await SentrySdk.FlushAsync(TimeSpan.FromSeconds(10));
        await app.StopAsync();
        return result;
    }

    private static string? ExceptionType(JsonElement error) => LastException(error).GetProperty("type").GetString();

    private static string? ExceptionValue(JsonElement error) => LastException(error).GetProperty("value").GetString();

    // Sentry lists chained exceptions innermost first; the thrown one is the last.
    private static JsonElement LastException(JsonElement error) =>
        error.GetProperty("exception").GetProperty("values").EnumerateArray().Last();

    private static string Dump(SentryStub stub) => string.Join('\n', stub.Items.Select(i => $"[{i.Type}] {i.Text}"));
}
