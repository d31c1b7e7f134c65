using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// A real Alertmanager (the Debian <c>prometheus-alertmanager</c> binary) with a config we write, on a free 127.0.0.1
/// port, clustering off, storage in a temp dir, killed and deleted on dispose.
/// </summary>
/// <remarks>
/// Proves what <c>amtool check-config</c> cannot: how alerts that a real Prometheus sends are grouped, routed and
/// delivered (<c>/api/v2/alerts/groups</c>, and the webhook a receiver points at).
/// </remarks>
public sealed class AlertmanagerServer : IAsyncDisposable
{
    private const int StartAttempts = 3;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _directory;
    private readonly BoundedLog _log = new(300);
    private readonly HttpClient _http;
    private Process? _process;
    private bool _disposed;

    private AlertmanagerServer(TempDirectory directory, int port)
    {
        _directory = directory;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        _http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Port of the API on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary><c>127.0.0.1:PORT</c>, as a Prometheus <c>alertmanagers</c> target.</summary>
    public string Target => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Recent Alertmanager log lines, for failure messages.</summary>
    public string LogTail => _log.ToString();

    /// <summary>Writes <paramref name="configYaml"/> as alertmanager.yml and starts Alertmanager, returning once <c>/-/ready</c> answers 200.</summary>
    public static async Task<AlertmanagerServer> StartAsync(string configYaml, CancellationToken cancellationToken = default)
    {
        var executable = ProcessRunner.RequireOnPath("prometheus-alertmanager", "prometheus-alertmanager");
        for (var attempt = 1; ; attempt++)
        {
            var server = new AlertmanagerServer(TempDirectory.Create("obs-am"), FreePort.Next());
            try
            {
                await File.WriteAllTextAsync(server._directory.Combine("alertmanager.yml"), configYaml, cancellationToken);
                await server.LaunchAsync(executable, cancellationToken);
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

    /// <summary>GET an API path (e.g. <c>/api/v2/alerts/groups</c>) and parse the JSON body.</summary>
    public async Task<JsonDocument> GetAsync(string pathAndQuery, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri(pathAndQuery.TrimStart('/'), UriKind.Relative), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"Alertmanager answered GET {pathAndQuery} with {(int)response.StatusCode}:\n{body}");
        }

        return JsonDocument.Parse(body);
    }

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

        _http.Dispose();
        _directory.Dispose();
    }

    private async Task LaunchAsync(string executable, CancellationToken cancellationToken)
    {
        string[] arguments =
        [
            $"--config.file={_directory.Combine("alertmanager.yml")}",
            $"--storage.path={_directory.Combine("data")}",
            $"--web.listen-address=127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}",
            // Empty turns the gossip cluster off: it would otherwise listen on 0.0.0.0:9094 and wait for peers.
            "--cluster.listen-address=",
        ];

        var process = ProcessRunner.StartCapturing(ProcessRunner.CreateStartInfo(executable, arguments, _directory.Path), _log.Add);
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                await process.WaitForExitAsync(cancellationToken);
                throw new InvalidOperationException(
                    $"alertmanager exited with code {process.ExitCode} during start-up.\n--- alertmanager log ---\n{LogTail}");
            }

            try
            {
                using var response = await _http.GetAsync(new Uri("-/ready", UriKind.Relative), cancellationToken);
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
                    $"alertmanager did not report ready on {BaseAddress} within {ReadyTimeout.TotalSeconds} s.\n--- alertmanager log ---\n{LogTail}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}
