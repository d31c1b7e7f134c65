using System.Globalization;

namespace Observability.AspNetCore.Core;

/// <summary>
/// The CPU and memory limits of the process's cgroup (v2 <c>cpu.max</c> / <c>memory.max</c>, v1
/// <c>cpu.cfs_quota_us</c> / <c>memory.limit_in_bytes</c>), null when there is none. Health shows the memory limit in
/// <c>/health/detailed</c>; Metrics publishes both, so the fact lives here.
/// </summary>
internal static class CgroupLimits
{
    private const string DefaultRoot = "/sys/fs/cgroup";

    // cgroup v1 reports "no limit" as a page-rounded long.MaxValue; anything this large is no limit.
    private const long Unlimited = 1L << 60;

    /// <summary>The memory limit in bytes, or null.</summary>
    public static long? ReadMemoryLimitBytes() => ReadMemoryLimitBytes(ReadProcSelfCgroup(), DefaultRoot);

    /// <summary>The CPU limit in cores (quota / period), or null.</summary>
    public static double? ReadCpuLimitCores() => ReadCpuLimitCores(ReadProcSelfCgroup(), DefaultRoot);

    internal static long? ReadMemoryLimitBytes(string procSelfCgroup, string root)
    {
        foreach (var path in MemoryCandidatePaths(procSelfCgroup, root))
        {
            if (TryRead(path, out var content))
            {
                return ParseMemoryLimit(content);
            }
        }

        return null;
    }

    internal static double? ReadCpuLimitCores(string procSelfCgroup, string root)
    {
        foreach (var path in CpuCandidatePaths(procSelfCgroup, root))
        {
            if (!TryRead(path, out var content))
            {
                continue;
            }

            if (path.EndsWith("cpu.max", StringComparison.Ordinal))
            {
                return ParseCpuMax(content);
            }

            // v1: the period sits beside the quota.
            var periodPath = Path.Combine(Path.GetDirectoryName(path)!, "cpu.cfs_period_us");
            return TryRead(periodPath, out var period) ? ParseCpuQuota(content, period) : null;
        }

        return null;
    }

    /// <summary>The memory files to try, most specific first: v2 (<c>0::/path</c>), then v1 (<c>N:memory:/path</c>), each at the cgroup's path and at the root.</summary>
    internal static IEnumerable<string> MemoryCandidatePaths(string procSelfCgroup, string root = DefaultRoot) =>
        CandidatePaths(procSelfCgroup, root, "memory.max", "memory", "memory.limit_in_bytes");

    /// <summary>The CPU quota files to try, in the same order as <see cref="MemoryCandidatePaths"/>.</summary>
    internal static IEnumerable<string> CpuCandidatePaths(string procSelfCgroup, string root = DefaultRoot) =>
        CandidatePaths(procSelfCgroup, root, "cpu.max", "cpu", "cpu.cfs_quota_us");

    private static IEnumerable<string> CandidatePaths(string procSelfCgroup, string root, string v2File, string v1Controller, string v1File)
    {
        var lines = procSelfCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var line in lines)
        {
            if (line.StartsWith("0::", StringComparison.Ordinal))
            {
                var path = line[3..].TrimEnd('/');
                if (path.Length > 0)
                {
                    yield return $"{root}{path}/{v2File}";
                }

                yield return $"{root}/{v2File}";
            }
        }

        foreach (var line in lines)
        {
            var parts = line.Split(':', 3);
            if (parts.Length == 3 && parts[1].Split(',').Contains(v1Controller))
            {
                // v1 mounts a co-mounted controller set under its joined name (cpu,cpuacct), usually linked as each.
                var path = parts[2].TrimEnd('/');
                if (path.Length > 0)
                {
                    yield return $"{root}/{v1Controller}{path}/{v1File}";
                }

                yield return $"{root}/{v1Controller}/{v1File}";
            }
        }
    }

    internal static long? ParseMemoryLimit(string content)
    {
        var value = content.Trim();
        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes > 0 && bytes < Unlimited ? bytes : null;
    }

    /// <summary>v2 <c>cpu.max</c>: "quota period", or "max period" for no limit.</summary>
    internal static double? ParseCpuMax(string content)
    {
        var parts = content.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2 ? Cores(parts[0], parts[1]) : null;
    }

    /// <summary>v1: <c>cpu.cfs_quota_us</c> (-1 for no limit) over <c>cpu.cfs_period_us</c>.</summary>
    internal static double? ParseCpuQuota(string quota, string period) => Cores(quota.Trim(), period.Trim());

    private static double? Cores(string quota, string period) =>
        long.TryParse(quota, NumberStyles.None, CultureInfo.InvariantCulture, out var q) && q > 0
        && long.TryParse(period, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p > 0
            ? (double)q / p
            : null;

    private static string ReadProcSelfCgroup() =>
        OperatingSystem.IsLinux() && TryRead("/proc/self/cgroup", out var content) ? content : string.Empty;

    private static bool TryRead(string path, out string content)
    {
        try
        {
            if (File.Exists(path))
            {
                content = File.ReadAllText(path);
                return true;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Unreadable cgroup files: no limit known rather than a failed endpoint or scrape.
        }

        content = string.Empty;
        return false;
    }
}
