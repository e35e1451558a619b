from precog_pipelines.cli import main

main()
