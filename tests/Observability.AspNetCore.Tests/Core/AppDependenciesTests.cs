using System.Text;
using System.Text.Json;
using Observability.AspNetCore.Core;

namespace Observability.AspNetCore.Tests.Core;

/// <summary>The EF Core hooks (slow queries, spans) are added when something in the app besides the library depends on EF Core, read by name from the dependency graph.</summary>
public sealed class AppDependenciesTests
{
    [Fact]
    public void An_app_whose_only_EF_Core_dependency_is_the_library_gets_no_EF_Core_hook() =>
        Assert.False(AppDependencies.GraphShowsEfCore(DepsJson(("MyApi", "Observability.AspNetCore"), ("Observability.AspNetCore", "Microsoft.EntityFrameworkCore.Relational"), ("Microsoft.EntityFrameworkCore.Relational", "Microsoft.EntityFrameworkCore"))));

    [Theory]
    [InlineData("MyApi", "Microsoft.EntityFrameworkCore.Sqlite")]
    [InlineData("Npgsql.EntityFrameworkCore.PostgreSQL", "Microsoft.EntityFrameworkCore.Relational")]
    public void An_app_with_another_dependency_on_EF_Core_gets_the_hook(string library, string dependency) =>
        Assert.True(AppDependencies.GraphShowsEfCore(DepsJson(("Observability.AspNetCore", "Microsoft.EntityFrameworkCore.Relational"), (library, dependency))));

    [Fact]
    public void A_graph_without_targets_adds_the_hook_as_before() =>
        Assert.True(AppDependencies.GraphShowsEfCore(Encoding.UTF8.GetBytes("""{ "runtimeTarget": { "name": ".NETCoreApp,Version=v10.0" } }""")));

    [Fact]
    public void A_graph_that_cannot_be_read_adds_the_hook()
    {
        var path = Path.GetTempFileName();
        File.WriteAllText(path, "not json");
        try
        {
            Assert.True(AppDependencies.FileShowsEfCore(path));
            Assert.True(AppDependencies.FileShowsEfCore(path + ".missing"));
            Assert.True(AppDependencies.FileShowsEfCore(null));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void This_test_host_which_uses_EF_Core_is_seen_to() => Assert.True(AppDependencies.UsesEfCore);

    /// <summary>A <c>.deps.json</c> as the SDK writes it: libraries by "name/version" under the runtime target.</summary>
    private static byte[] DepsJson(params (string Library, string DependsOn)[] libraries)
    {
        var target = new Dictionary<string, object>();
        foreach (var (library, dependsOn) in libraries)
        {
            target[library + "/1.0.0"] = new { dependencies = new Dictionary<string, string> { [dependsOn] = "1.0.0" }, runtime = new Dictionary<string, object>() };
        }

        return JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["runtimeTarget"] = new { name = ".NETCoreApp,Version=v10.0" },
            ["targets"] = new Dictionary<string, object> { [".NETCoreApp,Version=v10.0"] = target },
        });
    }
}
