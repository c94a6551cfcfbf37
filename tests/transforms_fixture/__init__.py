"""Transform functions the Python-transform tests name by spec (``...shop:add_total``)."""
