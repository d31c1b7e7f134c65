using Microsoft.Extensions.DependencyModel;
using Observability.AspNetCore.SlowQueries;

namespace Observability.AspNetCore.Tests.SlowQueries;

/// <summary>The EF Core hook is added when something in the app besides the library depends on EF Core, read by name from the dependency graph.</summary>
public sealed class EfCoreDetectionTests
{
    [Fact]
    public void An_app_whose_only_EF_Core_dependency_is_the_library_gets_no_EF_Core_hook() =>
        Assert.False(SlowQueryRegistration.AppUsesEfCore(Context(Library("MyApi", "Observability.AspNetCore"), Library("Observability.AspNetCore", "Microsoft.EntityFrameworkCore.Relational"), Library("Microsoft.EntityFrameworkCore.Relational", "Microsoft.EntityFrameworkCore"))));

    [Theory]
    [InlineData("MyApi", "Microsoft.EntityFrameworkCore.Sqlite")]
    [InlineData("Npgsql.EntityFrameworkCore.PostgreSQL", "Microsoft.EntityFrameworkCore.Relational")]
    public void An_app_with_another_dependency_on_EF_Core_gets_the_hook(string library, string dependency) =>
        Assert.True(SlowQueryRegistration.AppUsesEfCore(Context(Library("Observability.AspNetCore", "Microsoft.EntityFrameworkCore.Relational"), Library(library, dependency))));

    [Fact]
    public void Without_a_dependency_graph_the_hook_is_added_as_before() => Assert.True(SlowQueryRegistration.AppUsesEfCore(null));

    [Fact]
    public void This_test_host_which_uses_EF_Core_is_seen_to() => Assert.True(SlowQueryRegistration.AppUsesEfCore(DependencyContext.Default));

    private static RuntimeLibrary Library(string name, string dependsOn) =>
        new("package", name, "1.0.0", string.Empty, [], [], [], [new Dependency(dependsOn, "1.0.0")], serviceable: false);

    private static DependencyContext Context(params RuntimeLibrary[] libraries) =>
        new(new TargetInfo("net10.0", null, null, isPortable: true), CompilationOptions.Default, [], libraries, []);
}
