using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Tests.Core;

public sealed class CgroupLimitsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("cgroup-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private void Write(string relative, string content)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    [Theory]
    [InlineData("0::/kubepods/pod1/c1\n", "/sys/fs/cgroup/kubepods/pod1/c1/memory.max", "/sys/fs/cgroup/memory.max")]
    [InlineData("0::/\n", "/sys/fs/cgroup/memory.max")]
    [InlineData("4:memory:/docker/abc\n1:cpu:/docker/abc\n", "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.limit_in_bytes")]
    [InlineData("5:cpuacct,memory:/\n", "/sys/fs/cgroup/memory/memory.limit_in_bytes")]
    public void Memory_limit_files_are_found_for_cgroup_v2_and_v1(string procSelfCgroup, params string[] expected)
    {
        Assert.Equal(expected, CgroupLimits.MemoryCandidatePaths(procSelfCgroup));
    }

    [Theory]
    [InlineData("0::/kubepods/pod1/c1\n", "/sys/fs/cgroup/kubepods/pod1/c1/cpu.max", "/sys/fs/cgroup/cpu.max")]
    [InlineData("4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n", "/sys/fs/cgroup/cpu/docker/abc/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us")]
    public void Cpu_limit_files_are_found_for_cgroup_v2_and_v1(string procSelfCgroup, params string[] expected)
    {
        Assert.Equal(expected, CgroupLimits.CpuCandidatePaths(procSelfCgroup));
    }

    [Theory]
    [InlineData("536870912\n", 536870912L)]
    [InlineData("max\n", null)]
    [InlineData("9223372036854771712\n", null)]
    [InlineData("garbage", null)]
    public void Memory_limit_values_are_parsed_and_no_limit_is_null(string content, long? expected)
    {
        Assert.Equal(expected, CgroupLimits.ParseMemoryLimit(content));
    }

    [Theory]
    [InlineData("150000 100000\n", 1.5)]
    [InlineData("max 100000\n", null)]
    [InlineData("garbage", null)]
    public void Cpu_max_is_quota_over_period_and_max_is_no_limit(string content, double? expected)
    {
        Assert.Equal(expected, CgroupLimits.ParseCpuMax(content));
    }

    [Fact]
    public void Cgroup_v2_limits_are_read_from_the_process_cgroup_directory()
    {
        Write("kubepods/pod1/c1/cpu.max", "250000 100000\n");
        Write("kubepods/pod1/c1/memory.max", "1610612736\n");

        Assert.Equal(2.5, CgroupLimits.ReadCpuLimitCores("0::/kubepods/pod1/c1\n", _root));
        Assert.Equal(1610612736L, CgroupLimits.ReadMemoryLimitBytes("0::/kubepods/pod1/c1\n", _root));
    }

    [Fact]
    public void Cgroup_v1_limits_are_read_and_minus_one_quota_is_no_limit()
    {
        const string procSelfCgroup = "4:memory:/docker/abc\n2:cpu,cpuacct:/docker/abc\n";
        Write("cpu/docker/abc/cpu.cfs_quota_us", "50000\n");
        Write("cpu/docker/abc/cpu.cfs_period_us", "100000\n");
        Write("memory/docker/abc/memory.limit_in_bytes", "268435456\n");

        Assert.Equal(0.5, CgroupLimits.ReadCpuLimitCores(procSelfCgroup, _root));
        Assert.Equal(268435456L, CgroupLimits.ReadMemoryLimitBytes(procSelfCgroup, _root));

        Write("cpu/docker/abc/cpu.cfs_quota_us", "-1\n");
        Write("memory/docker/abc/memory.limit_in_bytes", "9223372036854771712\n");

        Assert.Null(CgroupLimits.ReadCpuLimitCores(procSelfCgroup, _root));
        Assert.Null(CgroupLimits.ReadMemoryLimitBytes(procSelfCgroup, _root));
    }

    [Fact]
    public void No_cgroup_files_means_no_limit()
    {
        Assert.Null(CgroupLimits.ReadCpuLimitCores("0::/\n", _root));
        Assert.Null(CgroupLimits.ReadMemoryLimitBytes("0::/\n", _root));
    }
}
