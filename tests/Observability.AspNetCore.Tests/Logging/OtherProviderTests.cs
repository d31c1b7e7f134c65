using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.Tests.Logging;

/// <summary>
/// A logging provider the app adds after <c>AddObservability()</c> (as <c>UseSentry()</c> adds Sentry's) sits beside
/// Serilog: it receives the app's events and keeps the filter rules aimed at it, while the exception the middleware
/// handled is not sent to it again as a log event.
/// </summary>
public sealed class OtherProviderTests
{
    private static Task<TestApp> StartAsync(RecordingProvider provider, Action<WebApplicationBuilder>? configure = null, IDictionary<string, string?>? configuration = null) =>
        TestApp.StartAsync(
            app =>
            {
                app.MapGet("/log", (ILoggerFactory factory) =>
                {
                    factory.CreateLogger("Orders").LogInformation("Order {OrderId} placed", 42);
                    factory.CreateLogger("Noisy.Library").LogWarning("Chatter {N}", 1);
                    return "ok";
                });
                app.MapGet("/boom", string () => throw new InvalidOperationException("boom for providers"));
            },
            configuration,
            configureBuilder: b =>
            {
                b.Logging.AddProvider(provider);
                configure?.Invoke(b);
            });

    [Fact]
    public async Task A_provider_added_after_AddObservability_receives_the_apps_events()
    {
        var provider = new RecordingProvider();
        await using var app = await StartAsync(provider);

        await app.Client.GetAsync("/log");

        Assert.Contains(provider.Events, e => e.Category == "Orders" && e.Message == "Order 42 placed");
    }

    [Fact]
    public async Task A_filter_rule_for_that_provider_is_kept()
    {
        var provider = new RecordingProvider();
        await using var app = await StartAsync(provider, b => b.Logging.AddFilter<RecordingProvider>("Noisy", LogLevel.None));

        await app.Client.GetAsync("/log");

        Assert.Contains(provider.Events, e => e.Category == "Orders");
        Assert.DoesNotContain(provider.Events, e => e.Category == "Noisy.Library");
    }

    [Fact]
    public async Task Logging_section_rules_for_every_provider_or_for_Serilog_still_leave_the_json_log_alone()
    {
        var provider = new RecordingProvider();
        await using var app = await StartAsync(provider, configuration: new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "None",
            ["Logging:Serilog:LogLevel:Default"] = "None",
        });

        await app.Client.GetAsync("/log");

        await app.WaitForEventsAsync(e => e.Str("@mt") == "Order {OrderId} placed");
    }

    [Fact]
    public async Task The_handled_exception_reaches_the_provider_as_no_error_event()
    {
        var provider = new RecordingProvider();
        await using var app = await StartAsync(provider);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/boom");
        request.Headers.Add("X-Request-ID", "providers-boom");
        using var response = await app.Client.SendAsync(request);
        await app.CompletionEventAsync("providers-boom");

        // The completion event (Error, with the exception) is Serilog's alone; a provider like Sentry's would otherwise
        // report the exception a second time beside the one its middleware captures.
        Assert.Equal(500, (int)response.StatusCode);
        Assert.DoesNotContain(provider.Events, e => e.Level >= LogLevel.Error);
    }

    [ProviderAlias("Recording")]
    private sealed class RecordingProvider : ILoggerProvider
    {
        public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Events { get; } = new();

        public ILogger CreateLogger(string categoryName) => new RecordingLogger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class RecordingLogger(RecordingProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                provider.Events.Enqueue((category, logLevel, formatter(state, exception)));
        }
    }
}
