using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// Life-cycle shared by the servers we start from a Debian binary with an HTTP API on a free 127.0.0.1 port
/// (<see cref="PrometheusServer"/>, <see cref="AlertmanagerServer"/>): start with a retry on a taken port, wait for
/// <c>/-/ready</c>, kill and delete the temp dir on dispose.
/// </summary>
public abstract class LoopbackServerProcess : IAsyncDisposable
{
    private const int StartAttempts = 3;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly string _name;
    private readonly BoundedLog _log = new(300);
    private Process? _process;
    private bool _disposed;

    /// <param name="name">Binary name used in failure messages, e.g. "prometheus".</param>
    /// <param name="directory">Owned temp dir (config, storage); deleted on dispose.</param>
    /// <param name="port">Port the server is told to listen on.</param>
    protected LoopbackServerProcess(string name, TempDirectory directory, int port)
    {
        _name = name;
        WorkDirectory = directory;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        Http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Port of the HTTP API on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Recent server log lines, for failure messages.</summary>
    public string LogTail => _log.ToString();

    /// <summary>Temp dir holding the config and storage.</summary>
    protected TempDirectory WorkDirectory { get; }

    /// <summary>Client with <see cref="BaseAddress"/> set; pass relative paths.</summary>
    protected HttpClient Http { get; }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (_process is not null)
        {
            ProcessRunner.KillQuietly(_process);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await _process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                // Could not confirm the exit; the directory goes anyway.
            }

            _process.Dispose();
        }

        Http.Dispose();
        WorkDirectory.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// Creates a server on a fresh port and launches it; starts over on another port when the bind lost a race
    /// (<c>address already in use</c> in the log). A server that fails to start is disposed.
    /// </summary>
    protected static async Task<TServer> StartWithRetryAsync<TServer>(Func<TServer> create, Func<TServer, Task> launch)
        where TServer : LoopbackServerProcess
    {
        for (var attempt = 1; ; attempt++)
        {
            var server = create();
            try
            {
                await launch(server);
                return server;
            }
            catch (InvalidOperationException) when (attempt < StartAttempts && server.LogTail.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
            {
                // The port was taken between FreePort.Next() and the bind: start over on another one.
                await server.DisposeAsync();
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Starts the process in <see cref="WorkDirectory"/> and returns once <c>/-/ready</c> answers 200.</summary>
    /// <exception cref="InvalidOperationException">The process exited or was not ready in time; carries the log tail.</exception>
    protected async Task StartProcessAsync(string executable, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var process = ProcessRunner.StartCapturing(ProcessRunner.CreateStartInfo(executable, arguments, WorkDirectory.Path), _log.Add);
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                // Let the async readers flush the last lines (usually the actual error) into the log.
                await process.WaitForExitAsync(cancellationToken);
                throw new InvalidOperationException(
                    $"{_name} exited with code {process.ExitCode} during start-up.\n--- {_name} log ---\n{LogTail}");
            }

            try
            {
                using var response = await Http.GetAsync(new Uri("-/ready", UriKind.Relative), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Per-request timeout; try again.
            }

            if (deadline.Elapsed > ReadyTimeout)
            {
                throw new InvalidOperationException(
                    $"{_name} did not report ready on {BaseAddress} within {ReadyTimeout.TotalSeconds} s.\n--- {_name} log ---\n{LogTail}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>GET a relative API path; returns the status and the body as text.</summary>
    protected async Task<(HttpStatusCode Status, string Body)> GetStringAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var response = await Http.GetAsync(new Uri(pathAndQuery.TrimStart('/'), UriKind.Relative), cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }
}
