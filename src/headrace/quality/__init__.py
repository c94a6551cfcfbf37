"""Data quality: declarative checks compiled to one aggregate scan per table."""
