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
    public void The_graph_of_this_test_project_which_uses_EF_Core_shows_it() =>
        Assert.True(AppDependencies.FileShowsEfCore(Path.Combine(AppContext.BaseDirectory, "Observability.AspNetCore.Tests.deps.json")));

    [Fact]
    public void Libraries_without_dependencies_and_runtime_specific_targets_are_read()
    {
        var graph = """
            {
              "targets": {
                ".NETCoreApp,Version=v10.0": { "MyApi/1.0.0": { "runtime": { "MyApi.dll": {} } } },
                ".NETCoreApp,Version=v10.0/linux-x64": { "MyApi/1.0.0": { "dependencies": { "Npgsql.EntityFrameworkCore.PostgreSQL": "10.0.0" } } }
              }
            }
            """;
        Assert.True(AppDependencies.GraphShowsEfCore(Encoding.UTF8.GetBytes(graph.Replace("Npgsql.EntityFrameworkCore.PostgreSQL", "Microsoft.EntityFrameworkCore.Sqlite", StringComparison.Ordinal))));
        Assert.False(AppDependencies.GraphShowsEfCore(Encoding.UTF8.GetBytes(graph.Replace("Npgsql.EntityFrameworkCore.PostgreSQL", "Npgsql", StringComparison.Ordinal))));
    }

    [Fact]
    public void A_graph_saved_with_a_byte_order_mark_is_read() =>
        Assert.False(AppDependencies.GraphShowsEfCore((byte[])[.. "\uFEFF"u8, .. DepsJson(("MyApi", "Observability.AspNetCore"))]));

    [Theory]
    [InlineData("/app/MyApi.deps.json;/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/Microsoft.NETCore.App.deps.json", "MyApi", "/app/MyApi.deps.json")]
    [InlineData("/app/MyApi.deps.json", "MyApi", "/app/MyApi.deps.json")]
    // A single-file app: its graph is in the bundle, and the list starts with a framework's.
    [InlineData("/usr/share/dotnet/shared/Microsoft.AspNetCore.App/10.0.12/Microsoft.AspNetCore.App.deps.json;/usr/share/dotnet/shared/Microsoft.NETCore.App/10.0.12/Microsoft.NETCore.App.deps.json", "MyApi", null)]
    [InlineData("", "MyApi", null)]
    [InlineData(null, "MyApi", null)]
    [InlineData("/app/MyApi.deps.json", null, null)]
    public void The_app_graph_is_the_first_listed_only_when_named_after_the_entry_assembly(string? depsFiles, string? entry, string? expected) =>
        Assert.Equal(expected, AppDependencies.AppGraphPath(depsFiles, entry));

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
