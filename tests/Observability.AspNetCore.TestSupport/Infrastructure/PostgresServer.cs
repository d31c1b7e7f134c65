using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Npgsql;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// A real, throw-away PostgreSQL server: its own cluster in a temp dir, listening on a free
/// 127.0.0.1 port, stopped and deleted on dispose.
/// </summary>
/// <remarks>
/// Why not Testcontainers: the machines that run these tests have no Docker. The Debian
/// <c>postgresql</c> package gives us <c>initdb</c>/<c>pg_ctl</c>, which is all we need, and starting a
/// cluster this way takes well under a second.
/// The cluster is tuned for tests, not durability (fsync off etc.), and uses scram-sha-256 for TCP
/// connections so a wrong password is really rejected, like in production.
/// </remarks>
public sealed class PostgresServer : IAsyncDisposable
{
    // PostgreSQL has to run as an unprivileged OS user; the Debian package creates this one.
    private const string OsUser = "postgres";
    private const int StartAttempts = 3;

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);

    // pg_ctl is told to give up after this long; our own process timeout (above) is longer so the
    // pg_ctl error message, which is more useful than ours, wins.
    private const int PgCtlWaitSeconds = 60;

    private readonly TempDirectory _directory;
    private readonly string _binDirectory;
    private bool _disposed;

    private PostgresServer(TempDirectory directory, string binDirectory, string password)
    {
        _directory = directory;
        _binDirectory = binDirectory;
        Password = password;
    }

    /// <summary>TCP port on 127.0.0.1. Stays the same across <see cref="StopAsync"/>/<see cref="StartAgainAsync"/>.</summary>
    public int Port { get; private set; }

    /// <summary>Password of the <c>postgres</c> superuser.</summary>
    public string Password { get; }

    /// <summary>The cluster's data directory.</summary>
    public string DataDirectory => _directory.Combine("data");

    /// <summary>Server log (pg_ctl -l); its tail is included in start failures.</summary>
    public string LogPath => _directory.Combine("postgres.log");

    /// <summary>True between a successful start and a stop.</summary>
    public bool IsRunning { get; private set; }

    /// <summary>Npgsql connection string for the <c>postgres</c> database as the superuser.</summary>
    public string ConnectionString => ConnectionStringFor("postgres");

    /// <summary>Npgsql connection string for <paramref name="database"/> as the superuser.</summary>
    /// <remarks>A short connect timeout: tests that stop the server want a fast failure, not Npgsql's default 15 s.</remarks>
    public string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Password = Password,
        Database = database,
        Timeout = 5,
    }.ConnectionString;

    /// <summary>Creates a fresh cluster and starts it.</summary>
    /// <param name="password">Superuser password; a random one when null.</param>
    /// <param name="cancellationToken">Aborts the start.</param>
    public static async Task<PostgresServer> StartAsync(string? password = null, CancellationToken cancellationToken = default)
    {
        var binDirectory = FindBinDirectory();
        var runAsPostgres = ProcessRunner.IsRoot;
        if (runAsPostgres && !OsUserExists(OsUser))
        {
            throw new InvalidOperationException(
                $"Running as root, but there is no '{OsUser}' OS user to run PostgreSQL as (initdb and pg_ctl refuse root). " +
                "Install the Debian 'postgresql' package, which creates it.");
        }

        var directory = TempDirectory.Create("obs-pg", worldTraversable: runAsPostgres);
        var server = new PostgresServer(directory, binDirectory, password ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        try
        {
            await server.InitDbAsync(cancellationToken);
            for (var attempt = 1; ; attempt++)
            {
                server.Port = FreePort.Next();
                try
                {
                    await server.PgCtlStartAsync(cancellationToken);
                    break;
                }
                catch (InvalidOperationException) when (attempt < StartAttempts && server.LogShowsPortConflict())
                {
                    // Another process grabbed the port between FreePort.Next() and the bind: pick another.
                }
            }

            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Fast shutdown (<c>pg_ctl stop -m fast</c>): open connections are terminated, new ones are refused.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await RunPgToolCheckedAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "fast", "-w", "-t", PgCtlWaitSeconds.ToString(CultureInfo.InvariantCulture)], cancellationToken);
        IsRunning = false;
    }

    /// <summary>Starts the same cluster again on the same port (data survives).</summary>
    public Task StartAgainAsync(CancellationToken cancellationToken = default) => PgCtlStartAsync(cancellationToken);

    /// <summary>Creates a database (name is quoted, so any name works).</summary>
    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default)
    {
        // CREATE DATABASE cannot take a parameter; quote the identifier ourselves.
        var quoted = "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
        await ExecuteAsync($"CREATE DATABASE {quoted}", cancellationToken);
    }

    /// <summary>Runs <paramref name="sql"/> against the <c>postgres</c> database and returns the first column of the first row.</summary>
    /// <returns>The value converted to <typeparamref name="T"/>, or default when the result is NULL or there is no row.</returns>
    public async Task<T?> ExecuteScalarAsync<T>(string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(UnpooledConnectionString());
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value switch
        {
            null or DBNull => default,
            T typed => typed,
            _ => (T)Convert.ChangeType(value, typeof(T), CultureInfo.InvariantCulture),
        };
    }

    /// <summary>Runs a statement that returns no rows.</summary>
    public async Task ExecuteAsync(string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(UnpooledConnectionString());
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Last lines of the server log, for assertion messages.</summary>
    public string ReadLogTail(int lines = 40)
    {
        try
        {
            return File.Exists(LogPath)
                ? string.Join('\n', File.ReadAllLines(LogPath).TakeLast(lines))
                : "<no server log was written>";
        }
        catch (IOException ex)
        {
            return $"<could not read {LogPath}: {ex.Message}>";
        }
    }

    /// <summary>Immediate shutdown (no checkpoint, it is all thrown away anyway) and deletion of the temp dir.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;

        // Stop whenever a postmaster.pid exists, not only when we think it runs: a half-failed
        // start can leave a running server behind, and an orphaned postgres would outlive the tests.
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await RunPgToolAsync("pg_ctl", ["stop", "-D", DataDirectory, "-m", "immediate", "-w", "-t", "20"], CancellationToken.None);
            }
            catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
            {
                // Fall through to the hard kill below.
            }

            KillPostmasterIfStillAlive();
        }

        IsRunning = false;
        _directory.Dispose();
    }

    /// <summary>Locates the newest installed PostgreSQL's bin directory (Debian installs under /usr/lib/postgresql/MAJOR/bin).</summary>
    public static string FindBinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        var candidates = Directory.Exists(root)
            ? Directory.GetDirectories(root)
                .Select(dir => (Dir: dir, Major: int.TryParse(Path.GetFileName(dir), NumberStyles.Integer, CultureInfo.InvariantCulture, out var major) ? major : -1))
                .Where(c => c.Major > 0 && File.Exists(Path.Combine(c.Dir, "bin", "initdb")))
                .OrderByDescending(c => c.Major)
                .ToList()
            : [];

        // Sort numerically: a string sort would put 9 after 16.
        return candidates.Count > 0
            ? Path.Combine(candidates[0].Dir, "bin")
            : throw new InvalidOperationException(
                $"No PostgreSQL server binaries found under {root}/*/bin. Install the Debian package 'postgresql' (bash eng/test.sh does it for you).");
    }

    private async Task InitDbAsync(CancellationToken cancellationToken)
    {
        // --pwfile keeps the password off the command line (visible in ps) and works non-interactively.
        var passwordFile = _directory.Combine("pwfile");
        await File.WriteAllTextAsync(passwordFile, Password + "\n", cancellationToken);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        if (ProcessRunner.IsRoot)
        {
            // initdb runs as 'postgres' and must be able to create data/ here and read the password file.
            await ProcessRunner.RunCheckedAsync("chown", ["-R", $"{OsUser}:", _directory.Path], cancellationToken: cancellationToken);
        }

        try
        {
            await RunPgToolCheckedAsync(
                "initdb",
                [
                    "-D", DataDirectory,
                    "-U", "postgres",
                    $"--pwfile={passwordFile}",
                    // TCP connections must present the password (so wrong passwords fail like in production);
                    // the Unix socket stays trust so pg_ctl's readiness probe needs no password.
                    "-A", "scram-sha-256",
                    "--auth-local=trust",
                    "-E", "UTF8",
                    // C locale: the machine's LANG may name a locale that is not generated, which makes initdb fail.
                    "--locale=C",
                    // Nobody needs this cluster to survive a power cut.
                    "--no-sync",
                ],
                cancellationToken);
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    private async Task PgCtlStartAsync(CancellationToken cancellationToken)
    {
        if (_directory.Path.Contains('\'', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The temp dir path {_directory.Path} contains a single quote, which pg_ctl's -o cannot carry.");
        }

        // pg_ctl hands -o to a shell, hence the quotes around the socket directory.
        // listen_addresses: loopback only. -k: our own socket dir, so we never collide with (or need
        // permissions on) /var/run/postgresql. The rest trades durability for speed.
        var options = string.Join(' ',
            $"-p {Port.ToString(CultureInfo.InvariantCulture)}",
            $"-k '{_directory.Path}'",
            "-c listen_addresses=127.0.0.1",
            "-c fsync=off",
            "-c synchronous_commit=off",
            "-c full_page_writes=off");

        var result = await RunPgToolAsync(
            "pg_ctl",
            ["start", "-w", "-t", PgCtlWaitSeconds.ToString(CultureInfo.InvariantCulture), "-D", DataDirectory, "-l", LogPath, "-o", options],
            cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(
                $"PostgreSQL did not start on 127.0.0.1:{Port} (pg_ctl {result}).\n--- server log (tail) ---\n{ReadLogTail()}");
        }

        IsRunning = true;
    }

    private bool LogShowsPortConflict()
    {
        var log = ReadLogTail();
        return log.Contains("could not bind", StringComparison.OrdinalIgnoreCase)
            || log.Contains("Address already in use", StringComparison.OrdinalIgnoreCase);
    }

    private async Task RunPgToolCheckedAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var result = await RunPgToolAsync(tool, arguments, cancellationToken);
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(
                $"{tool} {string.Join(' ', arguments)} failed with {result}\n--- server log (tail) ---\n{ReadLogTail()}");
        }
    }

    /// <summary>
    /// Runs a PostgreSQL binary, as the 'postgres' OS user when we are root (initdb and pg_ctl refuse to
    /// run as root, by design).
    /// </summary>
    private Task<ToolResult> RunPgToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var executable = Path.Combine(_binDirectory, tool);
        var (fileName, args) = ProcessRunner.IsRoot
            ? (ProcessRunner.RequireOnPath("runuser", "util-linux"), new List<string> { "-u", OsUser, "--", executable }.Concat(arguments))
            : (executable, arguments.AsEnumerable());

        // LC_ALL=C: English messages (we look for "could not bind" in the log) and no dependency on the
        // machine's locale. PGDATA/PGPORT from the developer's shell must not redirect the tools.
        var environment = new Dictionary<string, string?>
        {
            ["LC_ALL"] = "C",
            ["PGDATA"] = null,
            ["PGPORT"] = null,
            ["PGHOST"] = null,
        };

        // The working directory must be readable by 'postgres' (root's home is not).
        return ProcessRunner.RunAsync(fileName, args, CommandTimeout, workingDirectory: _directory.Path, environment: environment, cancellationToken: cancellationToken);
    }

    private string UnpooledConnectionString() =>
        // Helper connections must not come from a pool: after a restart a pooled connection would be dead.
        new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString;

    private void KillPostmasterIfStillAlive()
    {
        var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
        try
        {
            if (!File.Exists(pidFile)
                || !int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
            {
                return;
            }

            using var postmaster = Process.GetProcessById(pid);
            if (postmaster.ProcessName.Contains("postgres", StringComparison.OrdinalIgnoreCase))
            {
                postmaster.Kill(entireProcessTree: true);
                postmaster.WaitForExit(5000);
            }
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            // Not running any more (or the pid was reused): nothing to kill.
        }
    }

    private static bool OsUserExists(string name) =>
        File.Exists("/etc/passwd")
        && File.ReadLines("/etc/passwd").Any(line => line.StartsWith(name + ":", StringComparison.Ordinal));
}
