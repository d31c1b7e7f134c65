using System.Diagnostics;
using System.Globalization;
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
public sealed class PrometheusServer : LoopbackServerProcess
{
    /// <summary>
    /// Written anywhere in the config or extra files, replaced by the server's own port — so a config can
    /// scrape Prometheus itself (<c>127.0.0.1:{{PROMETHEUS_PORT}}</c>) although the port is only chosen at start.
    /// </summary>
    public const string PortPlaceholder = "{{PROMETHEUS_PORT}}";

    private PrometheusServer(TempDirectory directory, int port)
        : base("prometheus", directory, port)
    {
    }

    /// <summary>Directory holding <c>prometheus.yml</c> and the extra files (relative rule_files paths resolve here).</summary>
    public string ConfigDirectory => WorkDirectory.Path;

    /// <summary>Writes the config (and extra files) and starts Prometheus, returning once <c>/-/ready</c> answers 200.</summary>
    /// <param name="configYaml">Content of prometheus.yml; may contain <see cref="PortPlaceholder"/>.</param>
    /// <param name="extraFiles">Relative file name → content, e.g. <c>{"rules.yml": "..."}</c> referenced from rule_files.</param>
    /// <param name="cancellationToken">Aborts the start.</param>
    /// <param name="features">Feature flags to turn on (<c>--enable-feature</c>), e.g. <c>exemplar-storage</c>.</param>
    public static Task<PrometheusServer> StartAsync(
        string configYaml,
        IReadOnlyDictionary<string, string>? extraFiles = null,
        CancellationToken cancellationToken = default,
        IReadOnlyList<string>? features = null)
    {
        var executable = ProcessRunner.RequireOnPath("prometheus", "prometheus");
        return StartWithRetryAsync(
            () => new PrometheusServer(TempDirectory.Create("obs-prom"), FreePort.Next()),
            async server =>
            {
                await server.WriteFilesAsync(configYaml, extraFiles, cancellationToken);
                await server.LaunchAsync(executable, features ?? [], cancellationToken);
            });
    }

    /// <summary>Instant query (<c>GET /api/v1/query</c>). Returns the JSON body even for a PromQL error (status "error").</summary>
    public Task<JsonDocument> QueryAsync(string promql, CancellationToken cancellationToken = default) =>
        GetAsync($"api/v1/query?query={Uri.EscapeDataString(promql)}", cancellationToken);

    /// <summary>GET any API path (e.g. <c>/api/v1/alerts</c>, <c>/api/v1/targets</c>, <c>/api/v1/rules</c>) and parse the JSON body.</summary>
    public async Task<JsonDocument> GetAsync(string pathAndQuery, CancellationToken cancellationToken = default)
    {
        var (status, body) = await GetStringAsync(pathAndQuery, cancellationToken);
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException(
                $"Prometheus answered GET {pathAndQuery} with {(int)status} and a non-JSON body:\n{body}", ex);
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
        using var response = await Http.PostAsync(new Uri("-/reload", UriKind.Relative), content: null, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException(
                $"Prometheus reload failed ({(int)response.StatusCode}): {await response.Content.ReadAsStringAsync(cancellationToken)}\n{LogTail}");
        }
    }

    private async Task WriteFilesAsync(string configYaml, IReadOnlyDictionary<string, string>? extraFiles, CancellationToken cancellationToken)
    {
        var port = Port.ToString(CultureInfo.InvariantCulture);
        await File.WriteAllTextAsync(WorkDirectory.Combine("prometheus.yml"), configYaml.Replace(PortPlaceholder, port, StringComparison.Ordinal), cancellationToken);
        foreach (var (name, content) in extraFiles ?? new Dictionary<string, string>())
        {
            // Keep every file inside the temp dir, so dispose really removes everything.
            var path = Path.GetFullPath(WorkDirectory.Combine(name));
            if (!path.StartsWith(WorkDirectory.Path + Path.DirectorySeparatorChar, StringComparison.Ordinal))
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
            $"--config.file={WorkDirectory.Combine("prometheus.yml")}",
            $"--storage.tsdb.path={WorkDirectory.Combine("data")}",
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

        await StartProcessAsync(executable, arguments, cancellationToken);
    }
}
