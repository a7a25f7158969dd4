"""The entry points, on top of everything: the ``tongxiu`` CLI (which also serves HTTP and runs
the worker) and the worker's supervisor. They build the app with the composition root
(``tongxiu.infra.bootstrap.open_app``) and assign nothing to it afterwards."""
