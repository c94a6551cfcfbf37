"""SQL models (ELT), their DAG and materialisations, column lineage, Python transforms (ETL)."""
