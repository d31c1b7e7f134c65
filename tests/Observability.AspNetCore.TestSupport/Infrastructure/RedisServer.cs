using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> child process on a free 127.0.0.1 port, with no persistence,
/// killed and deleted on dispose.
/// </summary>
/// <remarks>
/// Runs in the foreground (<c>--daemonize no</c>) as our child so we own its lifetime: killing it is how
/// fault tests simulate "Redis went away", and nothing survives the test run.
/// </remarks>
public sealed class RedisServer : IAsyncDisposable
{
    private const int StartAttempts = 3;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);

    private readonly TempDirectory _directory;
    private readonly string _executable;
    private readonly BoundedLog _log = new(200);
    private Process? _process;
    private bool _disposed;

    private RedisServer(TempDirectory directory, string executable, string? password)
    {
        _directory = directory;
        _executable = executable;
        Password = password;
    }

    /// <summary>TCP port on 127.0.0.1; kept across <see cref="StopAsync"/>/<see cref="StartAgainAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>The <c>requirepass</c> password, or null when the server accepts anyone.</summary>
    public string? Password { get; }

    /// <summary>True while the child process is alive.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// StackExchange.Redis configuration string. <c>abortConnect=false</c> lets an app start while Redis is down
    /// (what the library's health checks are about); the short connect timeout keeps fault tests fast.
    /// </summary>
    public string ConnectionString =>
        $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)},abortConnect=false,connectTimeout=2000"
        + (Password is null ? "" : $",password={Password}");

    /// <summary>Whatever redis-server printed lately, for failure messages.</summary>
    public string LogTail => _log.ToString();

    /// <summary>Starts a new server; retries on a fresh port if the chosen one was taken meanwhile.</summary>
    /// <param name="password">When set, passed as <c>--requirepass</c>. Must not contain ',' (it goes into <see cref="ConnectionString"/>).</param>
    /// <param name="cancellationToken">Aborts the start.</param>
    public static async Task<RedisServer> StartAsync(string? password = null, CancellationToken cancellationToken = default)
    {
        if (password is not null && (password.Contains(',', StringComparison.Ordinal) || password.Length == 0))
        {
            throw new ArgumentException("The password must be non-empty and contain no ',' (StackExchange.Redis configuration syntax).", nameof(password));
        }

        var executable = ProcessRunner.RequireOnPath("redis-server", "redis-server");
        var server = new RedisServer(TempDirectory.Create("obs-redis"), executable, password);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                server.Port = FreePort.Next();
                try
                {
                    await server.LaunchAsync(cancellationToken);
                    return server;
                }
                catch (InvalidOperationException) when (attempt < StartAttempts && server._process is { HasExited: true })
                {
                    // Most likely the port was taken between FreePort.Next() and the bind; try another.
                }
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the server (SIGKILL, like a crash) and waits until it is gone and the port is closed.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_process is null)
        {
            return;
        }

        ProcessRunner.KillQuietly(_process);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(10));
        await _process.WaitForExitAsync(cts.Token);
        _process.Dispose();
        _process = null;
    }

    /// <summary>Starts a fresh server on the same port (data is not kept: persistence is off).</summary>
    public Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        if (IsRunning)
        {
            throw new InvalidOperationException("Redis is still running; call StopAsync first.");
        }

        return LaunchAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await StopAsync();
        }
        catch (OperationCanceledException)
        {
            // Could not confirm the exit within 10 s; the directory is deleted anyway.
        }

        _directory.Dispose();
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        var arguments = new List<string>
        {
            "--port", Port.ToString(CultureInfo.InvariantCulture),
            "--bind", "127.0.0.1",
            // No RDB snapshots, no AOF: a test Redis must never write to disk or block on it.
            "--save", "",
            "--appendonly", "no",
            "--dir", _directory.Path,
            "--daemonize", "no",
        };
        if (Password is not null)
        {
            arguments.AddRange(["--requirepass", Password]);
        }

        // A previous failed attempt may have left an exited process object behind.
        _process?.Dispose();
        var process = ProcessRunner.StartCapturing(ProcessRunner.CreateStartInfo(_executable, arguments, _directory.Path), _log.Add);
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException(
                    $"redis-server exited with code {process.ExitCode} before answering PING on 127.0.0.1:{Port}.\n--- redis log ---\n{LogTail}");
            }

            if (await PingAsync(cancellationToken))
            {
                return;
            }

            if (deadline.Elapsed > ReadyTimeout)
            {
                ProcessRunner.KillQuietly(process);
                throw new InvalidOperationException(
                    $"redis-server did not answer PING on 127.0.0.1:{Port} within {ReadyTimeout.TotalSeconds} s.\n--- redis log ---\n{LogTail}");
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>
    /// Raw RESP PING (with AUTH first when a password is set). Deliberately not StackExchange.Redis: a
    /// multiplexer reconnects in the background and would blur "is the server up right now".
    /// </summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", Port, cts.Token);
            var stream = client.GetStream();
            var request = new StringBuilder();
            if (Password is not null)
            {
                request.Append(CultureInfo.InvariantCulture, $"*2\r\n$4\r\nAUTH\r\n${Encoding.UTF8.GetByteCount(Password)}\r\n{Password}\r\n");
            }

            request.Append("*1\r\n$4\r\nPING\r\n");
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), cts.Token);

            // Read until the PONG arrives (AUTH's +OK comes first) or the server closes the connection.
            var received = new StringBuilder();
            var buffer = new byte[256];
            while (!received.ToString().Contains("+PONG", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, cts.Token);
                if (read == 0)
                {
                    return false;
                }

                received.Append(Encoding.UTF8.GetString(buffer, 0, read));
                if (received.ToString().StartsWith('-'))
                {
                    return false; // e.g. -ERR invalid password, or -LOADING.
                }
            }

            return true;
        }
        catch (Exception ex) when (ex is SocketException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return false;
        }
    }
}

/// <summary>Thread-safe ring of the last N lines a server printed, so failures can show them without unbounded memory.</summary>
internal sealed class BoundedLog(int capacity)
{
    private readonly Queue<string> _lines = new();
    private readonly Lock _gate = new();

    public void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _lines.Enqueue(line);
            while (_lines.Count > capacity)
            {
                _lines.Dequeue();
            }
        }
    }

    public override string ToString()
    {
        lock (_gate)
        {
            return _lines.Count == 0 ? "<nothing printed>" : string.Join('\n', _lines);
        }
    }
}
