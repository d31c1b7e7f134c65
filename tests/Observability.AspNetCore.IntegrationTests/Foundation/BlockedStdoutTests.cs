using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Observability.AspNetCore.IntegrationTests.Infrastructure;
using Observability.AspNetCore.Tests.Support;

namespace Observability.AspNetCore.IntegrationTests.Foundation;

/// <summary>
/// stdout is a pipe a container runtime or a log shipper reads, and readers stall (a log driver under backpressure, a
/// hung shipper). The app must keep serving and stopping while its stdout is not read: a real FIFO whose reader opens
/// it and then reads nothing, as the sample's stdout.
/// </summary>
public sealed class BlockedStdoutTests
{
    /// <summary>Enough completion lines (~550 B each) to fill the 64 KB pipe and the 128 KiB buffer several times over.</summary>
    private const int Requests = 1500;

    private static readonly Dictionary<string, string?> SmallBuffer = new()
    {
        ["Observability__Logging__StdoutBufferBytes"] = "131072",
    };

    [Fact]
    public async Task Requests_and_liveness_keep_answering_while_stdout_is_not_read_and_logging_resumes_when_it_is()
    {
        using var directory = TempDirectory.Create("obs-fifo");
        await using var fifo = await Fifo.CreateAsync(directory.Combine("stdout"));
        await using var sample = await SampleApiProcess.StartAsync(SmallBuffer, stdoutPath: fifo.Path);
        await fifo.OpenedAsync();
        using var client = new HttpClient { BaseAddress = sample.App.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };

        for (var i = 0; i < Requests; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.Add(ClefEvents.RequestIdHeader, RequestId(i));
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var live = await client.GetAsync("/health/live"))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        var dropped = await DroppedLinesAsync(client);
        Assert.True(dropped > 0, "stdout was not read, yet no line was counted as dropped.");

        // The reader comes back: what was kept arrives whole and oldest first, and new lines get through again. A line
        // logged before the writer has drained the full buffer is still dropped, so requests go on until one arrives.
        fifo.StartReading();
        var resumed = Stopwatch.StartNew();
        for (var attempt = 0; !fifo.Lines.Any(l => l.Contains("\"after-resume-", StringComparison.Ordinal)); attempt++)
        {
            Assert.True(resumed.Elapsed < TimeSpan.FromSeconds(30), $"No line of a request made after the reader resumed arrived; {fifo.Lines.Count} lines read.");
            using var request = new HttpRequestMessage(HttpMethod.Get, "/");
            request.Headers.Add(ClefEvents.RequestIdHeader, "after-resume-" + attempt.ToString(CultureInfo.InvariantCulture));
            using var response = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await Task.Delay(200);
        }

        var kept = new List<int>();
        foreach (var line in fifo.Lines)
        {
            using var document = JsonDocument.Parse(line); // every line whole: a cut line would not parse
            if (document.RootElement.StringProperty("RequestId") is { } id && id.StartsWith("blocked-", StringComparison.Ordinal))
            {
                kept.Add(int.Parse(id["blocked-".Length..], CultureInfo.InvariantCulture));
            }
        }

        Assert.True(kept.Count < Requests, $"All {Requests} lines arrived although stdout was not read and the buffer holds ~240 of them.");
        Assert.Equal(Enumerable.Range(0, kept.Count), kept); // the oldest lines are the ones kept, in order
        Assert.True(kept.Count + dropped >= Requests, $"{kept.Count} lines arrived and {dropped} were counted as dropped, of {Requests}.");
        await Poll.UntilAsync(
            () => sample.App.StderrLines.Any(l => l.Contains("log line(s) dropped", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20),
            () => $"No notice of dropped lines on stderr.\n{sample.App.OutputDump}",
            intervalMs: 50);
    }

    [Fact]
    public async Task Sigterm_exits_within_the_shutdown_timeout_while_stdout_is_not_read()
    {
        const int ShutdownTimeoutSeconds = 10;
        using var directory = TempDirectory.Create("obs-fifo");
        await using var fifo = await Fifo.CreateAsync(directory.Combine("stdout"));
        var environment = new Dictionary<string, string?>(SmallBuffer)
        {
            ["ASPNETCORE_SHUTDOWNTIMEOUTSECONDS"] = ShutdownTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
        };
        await using var sample = await SampleApiProcess.StartAsync(environment, stdoutPath: fifo.Path);
        await fifo.OpenedAsync();
        using var client = new HttpClient { BaseAddress = sample.App.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        for (var i = 0; i < Requests; i++)
        {
            using var response = await client.GetAsync("/");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var sigterm = Stopwatch.StartNew();
        await sample.App.SendSigtermAsync();
        var exitCode = await sample.App.WaitForExitAsync(TimeSpan.FromSeconds(ShutdownTimeoutSeconds + 5));

        Assert.True(exitCode == 0, $"exit code {exitCode} after {sigterm.Elapsed.TotalSeconds:0.0} s.\n{sample.App.OutputDump}");
        Assert.Contains(sample.App.StderrLines, l => l.Contains("did not take the rest of the log at shutdown", StringComparison.Ordinal));
    }

    private static string RequestId(int i) => "blocked-" + i.ToString("D5", CultureInfo.InvariantCulture);

    private static async Task<double> DroppedLinesAsync(HttpClient client)
    {
        var body = await client.GetStringAsync("/metrics");
        var line = body.Split('\n').SingleOrDefault(l => l.StartsWith("log_lines_dropped_total ", StringComparison.Ordinal))
            ?? throw new Xunit.Sdk.XunitException($"No log_lines_dropped_total sample on /metrics:\n{body}");
        return double.Parse(line["log_lines_dropped_total ".Length..], CultureInfo.InvariantCulture);
    }

    /// <summary>A named pipe whose read end the test holds: opened at once, read only after <see cref="StartReading"/>.</summary>
    private sealed class Fifo : IAsyncDisposable
    {
        private readonly Task<FileStream> _open;
        private readonly ConcurrentQueue<string> _lines = new();
        private Task? _reading;

        private Fifo(string path)
        {
            Path = path;

            // Blocks until the app's shell opens the write end.
            _open = Task.Factory.StartNew(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, bufferSize: 0), TaskCreationOptions.LongRunning);
        }

        public string Path { get; }

        public IReadOnlyCollection<string> Lines => _lines.ToArray();

        public static async Task<Fifo> CreateAsync(string path)
        {
            await ProcessRunner.RunCheckedAsync("mkfifo", [path]);
            return new Fifo(path);
        }

        public Task OpenedAsync() => _open.WaitAsync(TimeSpan.FromSeconds(30));

        public void StartReading() => _reading = Task.Factory.StartNew(
            () =>
            {
                using var reader = new StreamReader(_open.Result);
                while (reader.ReadLine() is { } line)
                {
                    _lines.Enqueue(line);
                }
            },
            TaskCreationOptions.LongRunning);

        public async ValueTask DisposeAsync()
        {
            // The app is gone by now (disposed first), so the write end is closed and a reader sees EOF.
            if (_reading is not null)
            {
                await _reading.WaitAsync(TimeSpan.FromSeconds(10));
            }
            else if (_open.IsCompletedSuccessfully)
            {
                await _open.Result.DisposeAsync();
            }
        }
    }
}
