pytest_plugins = ["tests.testbed_plugin"]
