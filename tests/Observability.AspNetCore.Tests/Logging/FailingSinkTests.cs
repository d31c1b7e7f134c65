using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Observability.AspNetCore.Tests.Support;
using Serilog.Core;
using Serilog.Events;

namespace Observability.AspNetCore.Tests.Logging;

/// <summary>A sink that throws, on write or on dispose, costs its own events and never the app.</summary>
public sealed class FailingSinkTests
{
    [Fact]
    public async Task A_sink_that_throws_on_every_write_and_on_dispose_neither_fails_requests_nor_stopping()
    {
        var failing = new ThrowingSink();
        var app = await TestApp.StartAsync(
            a => a.MapGet("/log", (ILogger<FailingSinkTests> logger) =>
            {
                logger.LogWarning("Handler says {Thing}", "hello");
                return "ok";
            }),
            configureBuilder: b => b.Services.AddSingleton<ILogEventSink>(failing));

        using (var response = await app.Client.GetAsync("/log"))
        {
            Assert.True(response.IsSuccessStatusCode);
        }

        await Poll.UntilAsync(() => app.Events().Any(e => e.TryGetProperty("Thing", out _)));
        await app.DisposeAsync(); // stops the host, then disposes the sinks: the throwing one last threw here

        Assert.True(failing.Emits > 0);
        Assert.True(failing.Disposed);
    }

    private sealed class ThrowingSink : ILogEventSink, IDisposable
    {
        public int Emits;

        public bool Disposed { get; private set; }

        public void Emit(LogEvent logEvent)
        {
            Interlocked.Increment(ref Emits);
            throw new IOException("No space left on device");
        }

        public void Dispose()
        {
            Disposed = true;
            throw new IOException("No space left on device (flushing at dispose)");
        }
    }
}
