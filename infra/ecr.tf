# The course's repository, with scanning, tag mutability, an optional lifecycle policy, and the tags that
# publish_ecr passes (the project and environment that own it; set on create, so a killed apply is recovered).
resource "aws_ecr_repository" "repositorio" {
  #checkov:skip=CKV_AWS_51:The course pushes V1 again on every rebuild; deploy_ecs pins the digest, so a moved tag never changes what runs (mutabilidade_tags IMMUTABLE forbids it).
  #checkov:skip=CKV_AWS_136:Encrypted with AES256 by ECR; kms_chave gives a customer key (a new repository: ECR sets encryption at creation only).
  name                 = var.nome
  image_tag_mutability = var.mutabilidade_tags
  tags                 = var.etiquetas

  dynamic "encryption_configuration" {
    for_each = var.kms_chave == "" ? [] : [var.kms_chave]
    content {
      encryption_type = "KMS"
      kms_key         = encryption_configuration.value
    }
  }

  image_scanning_configuration {
    scan_on_push = var.scan_on_push
  }
}

# ECR's rules do not know what ECS runs: deploy_ecs tags the image each environment runs, and the one before it,
# ecr-deploy-ENV-running and ecr-deploy-ENV-previous. The first rule matches those tags, and an image that a rule
# matches is never expired by a rule of lower priority (ECR user guide, "Lifecycle policy evaluation rules"); it
# expires them only beyond 100, which no project reaches.
resource "aws_ecr_lifecycle_policy" "limpeza" {
  count      = var.manter_ultimas_imagens > 0 ? 1 : 0
  repository = aws_ecr_repository.repositorio.name

  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Keep the images that an environment runs, and the one before it"
        selection = {
          tagStatus     = "tagged"
          tagPrefixList = ["ecr-deploy-"]
          countType     = "imageCountMoreThan"
          countNumber   = 100
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Expire untagged images after a day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the last images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.manter_ultimas_imagens
        }
        action = { type = "expire" }
      },
    ]
  })
}
