using Microsoft.EntityFrameworkCore;

namespace Observability.SampleApi.Data;

/// <summary>The sample's database: SQLite by default, PostgreSQL when <c>ConnectionStrings:Postgres</c> is set.</summary>
internal sealed class SampleDbContext(DbContextOptions<SampleDbContext> options) : DbContext(options)
{
    public const int NameMaxLength = 200;

    public DbSet<Item> Items => Set<Item>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<Item>(item =>
        {
            item.Property(i => i.Name).HasMaxLength(NameMaxLength);

            // No precision on purpose: PostgreSQL's plain numeric keeps any decimal exactly, as SQLite's text does, so
            // an item always reads back with the price it was created with (numeric(18,2) would round 12.345).
            item.Property(i => i.Price);

            // SQLite keeps no DateTimeKind, so values would come back Unspecified and be serialized without "Z".
            // Every value written is UTC (PostgreSQL's timestamptz insists on it), so say so when reading.
            item.Property(i => i.CreatedUtc).HasConversion(v => v, v => DateTime.SpecifyKind(v, DateTimeKind.Utc));
        });
    }
}
