using System.Security.Cryptography;

namespace Observability.AspNetCore.IntegrationTests.Infrastructure;

/// <summary>
/// A uniquely named directory under the system temp dir that deletes itself.
/// </summary>
/// <remarks>
/// Names are short on purpose: PostgreSQL puts its Unix socket in this directory and a socket path
/// longer than ~107 bytes cannot be bound.
/// </remarks>
public sealed class TempDirectory : IDisposable
{
    private TempDirectory(string path) => Path = path;

    /// <summary>Absolute path of the directory.</summary>
    public string Path { get; }

    /// <summary>Creates a new empty directory named <c>{prefix}-{random}</c>.</summary>
    /// <param name="prefix">Identifies the owner in a directory listing, e.g. "obs-pg".</param>
    /// <param name="worldTraversable">When true the directory is created somewhere another OS user (postgres) can reach:
    /// a TMPDIR under /root would not be, so it falls back to /tmp.</param>
    public static TempDirectory Create(string prefix, bool worldTraversable = false)
    {
        var root = System.IO.Path.GetTempPath();
        if (worldTraversable && !IsTraversableByOthers(root))
        {
            root = "/tmp";
        }

        var path = System.IO.Path.Combine(root, $"{prefix}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}");
        Directory.CreateDirectory(path);
        return new TempDirectory(path);
    }

    /// <summary>Path of a file or folder inside this directory.</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>Deletes the directory; retries briefly because a just-killed server may still be closing files.</summary>
    public void Dispose()
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(Path))
                {
                    Directory.Delete(Path, recursive: true);
                }

                return;
            }
            catch (IOException)
            {
                Thread.Sleep(100);
            }
            catch (UnauthorizedAccessException)
            {
                Thread.Sleep(100);
            }
        }
    }

    /// <summary>True when every ancestor of <paramref name="path"/> has the "others may traverse" bit set.</summary>
    private static bool IsTraversableByOthers(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        for (var dir = new DirectoryInfo(path); dir is not null; dir = dir.Parent)
        {
            if (dir.Exists && (dir.UnixFileMode & UnixFileMode.OtherExecute) == 0)
            {
                return false;
            }
        }

        return true;
    }
}
