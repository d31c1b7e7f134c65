using System.Text;
using System.Text.Json;
using Observability.AspNetCore.SlowQueries;

namespace Observability.AspNetCore.Tests.SlowQueries;

/// <summary>The EF Core hook is added when something in the app besides the library depends on EF Core, read by name from the dependency graph.</summary>
public sealed class EfCoreDetectionTests
{
    [Fact]
    public void An_app_whose_only_EF_Core_dependency_is_the_library_gets_no_EF_Core_hook() =>
        Assert.False(SlowQueryRegistration.AppUsesEfCore(DepsJson(("MyApi", "Observability.AspNetCore"), ("Observability.AspNetCore", "Microsoft.EntityFrameworkCore.Relational"), ("Microsoft.EntityFrameworkCore.Relational", "Microsoft.EntityFrameworkCore"))));

    [Theory]
    [InlineData("MyApi", "Microsoft.EntityFrameworkCore.Sqlite")]
    [InlineData("Npgsql.EntityFrameworkCore.PostgreSQL", "Microsoft.EntityFrameworkCore.Relational")]
    public void An_app_with_another_dependency_on_EF_Core_gets_the_hook(string library, string dependency) =>
        Assert.True(SlowQueryRegistration.AppUsesEfCore(DepsJson(("Observability.AspNetCore", "Microsoft.EntityFrameworkCore.Relational"), (library, dependency))));

    [Fact]
    public void A_graph_without_targets_adds_the_hook_as_before() =>
        Assert.True(SlowQueryRegistration.AppUsesEfCore(Encoding.UTF8.GetBytes("""{ "runtimeTarget": { "name": ".NETCoreApp,Version=v10.0" } }""")));

    [Fact]
    public void A_graph_that_is_not_JSON_is_an_error_the_caller_turns_into_adding_the_hook() =>
        Assert.ThrowsAny<JsonException>(() => SlowQueryRegistration.AppUsesEfCore(Encoding.UTF8.GetBytes("not json")));

    [Fact]
    public void This_test_host_which_uses_EF_Core_is_seen_to() => Assert.True(SlowQueryRegistration.AppUsesEfCore());

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
