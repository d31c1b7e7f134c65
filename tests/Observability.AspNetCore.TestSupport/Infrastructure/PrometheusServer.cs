using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// A real Prometheus server (the Debian <c>prometheus</c> binary) with a config we write, on a free
/// 127.0.0.1 port, storage in a temp dir, killed and deleted on dispose.
/// </summary>
/// <remarks>
/// Used to prove end to end that what the library exposes is scraped, that recording/alert rules we ship
/// evaluate, and that alerts fire — things promtool's static checks cannot show.
/// </remarks>
public sealed class PrometheusServer : IAsyncDisposable
{
    /// <summary>
    /// Written anywhere in the config or extra files, replaced by the server's own port — so a config can
    /// scrape Prometheus itself (<c>127.0.0.1:{{PROMETHEUS_PORT}}</c>) although the port is only chosen at start.
    /// </summary>
    public const string PortPlaceholder = "{{PROMETHEUS_PORT}}";

    private const int StartAttempts = 3;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly TempDirectory _directory;
    private readonly BoundedLog _log = new(300);
    private readonly HttpClient _http;
    private Process? _process;
    private bool _disposed;

    private PrometheusServer(TempDirectory directory, int port)
    {
        _directory = directory;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
        _http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
    }

    /// <summary>Port of the web UI/API on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary><c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Directory holding <c>prometheus.yml</c> and the extra files (relative rule_files paths resolve here).</summary>
    public string ConfigDirectory => _directory.Path;

    /// <summary>Recent Prometheus log lines, for failure messages.</summary>
    public string LogTail => _log.ToString();

    /// <summary>Writes the config (and extra files) and starts Prometheus, returning once <c>/-/ready</c> answers 200.</summary>
    /// <param name="configYaml">Content of prometheus.yml; may contain <see cref="PortPlaceholder"/>.</param>
    /// <param name="extraFiles">Relative file name → content, e.g. <c>{"rules.yml": "..."}</c> referenced from rule_files.</param>
    /// <param name="cancellationToken">Aborts the start.</param>
    /// <param name="features">Feature flags to turn on (<c>--enable-feature</c>), e.g. <c>exemplar-storage</c>.</param>
    public static async Task<PrometheusServer> StartAsync(
        string configYaml,
        IReadOnlyDictionary<string, string>? extraFiles = null,
        CancellationToken cancellationToken = default,
        IReadOnlyList<string>? features = null)
    {
        var executable = ProcessRunner.RequireOnPath("prometheus", "prometheus");
        for (var attempt = 1; ; attempt++)
        {
            var server = new PrometheusServer(TempDirectory.Create("obs-prom"), FreePort.Next());
            try
            {
                await server.WriteFilesAsync(configYaml, extraFiles, cancellationToken);
                await server.LaunchAsync(executable, features ?? [], cancellationToken);
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

    /// <summary>Instant query (<c>GET /api/v1/query</c>). Returns the JSON body even for a PromQL error (status "error").</summary>
    public Task<JsonDocument> QueryAsync(string promql, CancellationToken cancellationToken = default) =>
        GetAsync($"api/v1/query?query={Uri.EscapeDataString(promql)}", cancellationToken);

    /// <summary>GET any API path (e.g. <c>/api/v1/alerts</c>, <c>/api/v1/targets</c>, <c>/api/v1/rules</c>) and parse the JSON body.</summary>
    public async Task<JsonDocument> GetAsync(string pathAndQuery, CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri(pathAndQuery.TrimStart('/'), UriKind.Relative), cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException(
                $"Prometheus answered GET {pathAndQuery} with {(int)response.StatusCode} and a non-JSON body:\n{body}", ex);
        }
    }

    /// <summary>
    /// Polls an instant query until its <c>data.result</c> is a non-empty array (and matches
    /// <paramref name="predicate"/> when given). Needed because scrapes and rule evaluations happen on
    /// intervals, so the first answers are legitimately empty.
    /// </summary>
    /// <returns>A clone of the <c>data.result</c> array.</returns>
    /// <exception cref="TimeoutException">With the last answer and the Prometheus log.</exception>
    public async Task<JsonElement> WaitForQueryResultAsync(
        string promql,
        TimeSpan timeout,
        Func<JsonElement, bool>? predicate = null,
        CancellationToken cancellationToken = default)
    {
        var deadline = Stopwatch.StartNew();
        var lastAnswer = "<no answer yet>";
        while (true)
        {
            using (var document = await QueryAsync(promql, cancellationToken))
            {
                lastAnswer = document.RootElement.GetRawText();
                if (document.RootElement.TryGetProperty("data", out var data)
                    && data.TryGetProperty("result", out var result)
                    && result.ValueKind == JsonValueKind.Array
                    && result.GetArrayLength() > 0
                    && (predicate is null || predicate(result)))
                {
                    return result.Clone();
                }
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException(
                    $"Query '{promql}' had no matching result within {timeout.TotalSeconds:0.#} s. Last answer: {lastAnswer}\n--- prometheus log ---\n{LogTail}");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>Re-reads the config files (<c>POST /-/reload</c>, enabled by --web.enable-lifecycle).</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsync(new Uri("-/reload", UriKind.Relative), content: null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"Prometheus reload failed ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync(cancellationToken)}\n{LogTail}");
        }
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

    private async Task WriteFilesAsync(string configYaml, IReadOnlyDictionary<string, string>? extraFiles, CancellationToken cancellationToken)
    {
        var port = Port.ToString(CultureInfo.InvariantCulture);
        await File.WriteAllTextAsync(_directory.Combine("prometheus.yml"), configYaml.Replace(PortPlaceholder, port, StringComparison.Ordinal), cancellationToken);
        foreach (var (name, content) in extraFiles ?? new Dictionary<string, string>())
        {
            // Keep every file inside the temp dir, so dispose really removes everything.
            var path = Path.GetFullPath(_directory.Combine(name));
            if (!path.StartsWith(_directory.Path + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Extra file name '{name}' must be a relative path inside the config directory.", nameof(extraFiles));
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, content.Replace(PortPlaceholder, port, StringComparison.Ordinal), cancellationToken);
        }
    }

    private async Task LaunchAsync(string executable, IReadOnlyList<string> features, CancellationToken cancellationToken)
    {
        var arguments = new List<string>
        {
            $"--config.file={_directory.Combine("prometheus.yml")}",
            $"--storage.tsdb.path={_directory.Combine("data")}",
            $"--web.listen-address=127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}",
            "--web.enable-lifecycle",
        };
        if (features.Count > 0)
        {
            arguments.Add("--enable-feature=" + string.Join(',', features));
        }

        // Debian's build defaults these to /etc/prometheus/...; only pass them when they exist so the same
        // code works with an upstream tarball build too.
        foreach (var (flag, path) in new[]
                 {
                     ("--web.console.templates", "/etc/prometheus/consoles"),
                     ("--web.console.libraries", "/etc/prometheus/console_libraries"),
                 })
        {
            if (Directory.Exists(path))
            {
                arguments.Add($"{flag}={path}");
            }
        }

        var process = ProcessRunner.StartCapturing(ProcessRunner.CreateStartInfo(executable, arguments, _directory.Path), _log.Add);
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
                    $"prometheus exited with code {process.ExitCode} during start-up.\n--- prometheus log ---\n{LogTail}");
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
                    $"prometheus did not report ready on {BaseAddress} within {ReadyTimeout.TotalSeconds} s.\n--- prometheus log ---\n{LogTail}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }
}
